//! The file interface of a clinic's 資格確認端末 (reference §1), and an emulator of it.
//!
//! [`Bridge`] is what the gateway uses, like an EMR's linkage code: it writes request files
//! into the terminal's shared folder `req/` (atomically: written aside, then renamed in), and
//! reads the result from `res/` or the rejection `<request>.err` next to the request. Results
//! still being written (truncated XML) are waited for; only a file that stays broken for
//! [`BridgeOptions::settle_polls`] polls is an error.
//!
//! [`TerminalEmulator`] plays the terminal: it watches `req/`, answers from the
//! [simulator](crate::sim), can be slow, writes `.err` for requests it cannot read, and can
//! write its results in two halves to exercise half-written files. Tests drive it step by
//! step ([`TerminalEmulator::step`]); the CLI runs it in a loop.
//!
//! Request kinds: `OQSsiquc01` single check (used for 再照会) and `OQSmuhvq01/02` (bulk pull of
//! 居宅同意取得型 results by consent date: 01 answers a 受付番号, 02 fetches by it).

use crate::clock::Clock;
use crate::codes::*;
use crate::consent::{VisitKind, jst};
use crate::numbers::MedicalInstitutionCode;
use crate::sim::{ReinquiryRequest, SimResultCode, Simulator};
use crate::types::*;
use crate::xml::{self, WriteOptions, XmlEncoding, XmlError};
use chrono::NaiveDate;
use std::collections::{HashMap, HashSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Kinds of request file this crate speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum RequestKind {
    /// `OQSsiquc01`: single qualification check by numbers (再照会).
    SingleCheck,
    /// `OQSmuhvq01`: bulk 訪問診療等 request by consent-date range.
    BulkVisitRequest,
    /// `OQSmuhvq02`: bulk 訪問診療等 fetch by 受付番号.
    BulkVisitFetch,
}

impl RequestKind {
    pub const ALL: [RequestKind; 3] = [Self::SingleCheck, Self::BulkVisitRequest, Self::BulkVisitFetch];
    fn stem(self) -> &'static str {
        match self {
            Self::SingleCheck => "OQSsiquc01",
            Self::BulkVisitRequest => "OQSmuhvq01",
            Self::BulkVisitFetch => "OQSmuhvq02",
        }
    }
    /// `OQSsiquc01req_`.
    pub fn request_prefix(self) -> String {
        format!("{}req_", self.stem())
    }
    /// `OQSsiquc01res_`.
    pub fn result_prefix(self) -> String {
        format!("{}res_", self.stem())
    }
    /// Recognises a request file name, giving the kind and the suffix (without `.xml`).
    pub fn parse_request_name(name: &str) -> Option<(Self, String)> {
        let base = name.strip_suffix(".xml")?;
        Self::ALL.into_iter().find_map(|k| {
            base.strip_prefix(&k.request_prefix())
                .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
                .map(|s| (k, s.to_owned()))
        })
    }
}

/// A request the bridge wrote and waits on.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RequestHandle {
    pub kind: RequestKind,
    pub suffix: String,
    /// The `ArbitraryFileIdentifier` the request carried (checked in the result).
    pub arbitrary_file_identifier: Option<String>,
}

impl RequestHandle {
    /// `OQSsiquc01req_<suffix>.xml`.
    pub fn request_file(&self) -> String {
        format!("{}{}.xml", self.kind.request_prefix(), self.suffix)
    }
    /// `OQSsiquc01req_<suffix>.err`.
    pub fn error_file(&self) -> String {
        format!("{}{}.err", self.kind.request_prefix(), self.suffix)
    }
    /// `OQSsiquc01res_<suffix>.xml`.
    pub fn result_file(&self) -> String {
        format!("{}{}.xml", self.kind.result_prefix(), self.suffix)
    }
}

/// Failures of the file interface.
#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("the terminal rejected {request}: {detail}")]
    Rejected { request: String, detail: String },
    #[error("result {file} is not valid: {error}")]
    Malformed { file: String, error: XmlError },
    #[error("no answer to {request} after {waited_ms} ms")]
    Timeout { request: String, waited_ms: u128 },
    #[error("result {file} answers {got:?}, not {expected:?}")]
    Mismatch { file: String, expected: Option<String>, got: Option<String> },
    #[error("the terminal could not process the request: {code} {message}")]
    Terminal { code: String, message: String },
}

impl BridgeError {
    /// Japanese message for the back office, with the next step.
    pub fn message_ja(&self) -> String {
        match self {
            Self::Io { path, .. } => format!(
                "資格確認端末の共有フォルダ（{}）を読み書きできません。ネットワークドライブの接続と権限を確認してください。",
                path.display()
            ),
            Self::Rejected { detail, .. } => {
                format!("資格確認端末が要求を受け付けませんでした（{detail}）。内容を確認して再度照会してください。")
            }
            Self::Malformed { error, .. } => {
                format!("資格確認端末の結果ファイルを読めません（{}）。再度照会してください。", error.message_ja())
            }
            Self::Timeout { .. } => {
                "資格確認端末から応答がありません。端末と連携アプリケーションが起動しているか確認してください。".into()
            }
            Self::Mismatch { .. } => "別の要求の結果ファイルが返されました。再度照会してください。".into(),
            Self::Terminal { code, message } => {
                format!("資格確認端末でエラーが発生しました（{code} {message}）。時間をおいて再度照会してください。")
            }
        }
    }
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> BridgeError + '_ {
    move |source| BridgeError::Io { path: path.to_owned(), source }
}

/// The answer to one poll.
#[derive(Debug, Clone, PartialEq)]
pub enum Poll {
    /// Nothing yet (or a result still being written).
    Pending,
    /// The result.
    Ready(Box<XmlMsg>),
}

/// Bridge settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BridgeOptions {
    pub write: WriteOptions,
    /// A broken result file is reported as malformed only once it has stayed unchanged for
    /// this many polls *and* for `settle_time` (a writer may stall between its halves).
    pub settle_polls: u32,
    pub settle_time: std::time::Duration,
}

impl Default for BridgeOptions {
    fn default() -> Self {
        Self { write: WriteOptions::default(), settle_polls: 10, settle_time: std::time::Duration::from_secs(3) }
    }
}

/// The terminal's shared folder.
#[derive(Debug, Clone)]
pub struct TerminalFolder {
    pub root: PathBuf,
}

impl TerminalFolder {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }
    pub fn req(&self) -> PathBuf {
        self.root.join("req")
    }
    pub fn res(&self) -> PathBuf {
        self.root.join("res")
    }
    /// Creates `req/` and `res/` if missing.
    pub fn ensure(&self) -> Result<(), BridgeError> {
        for d in [self.req(), self.res()] {
            fs::create_dir_all(&d).map_err(io_err(&d))?;
        }
        Ok(())
    }
}

/// Writes `bytes` to `dir/name` so that no reader ever sees a partial file: write aside in
/// the parent folder, flush to disk, then rename into place.
fn write_atomically(root: &Path, dir: &Path, name: &str, bytes: &[u8]) -> Result<(), BridgeError> {
    let tmp = root.join(format!(".{name}.tmp"));
    let result = (|| {
        use std::io::Write;
        let mut f = fs::OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, dir.join(name))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(io_err(&dir.join(name)))
}

/// Reads `.err` text (the terminal may write Shift_JIS).
fn read_error_text(bytes: &[u8]) -> String {
    let text = match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => encoding_rs::SHIFT_JIS.decode(bytes).0.into_owned(),
    };
    let t = text.trim();
    if t.is_empty() { "理由の記載なし".into() } else { t.chars().take(500).collect() }
}

/// The EMR side of the file interface.
#[derive(Debug)]
pub struct Bridge {
    folder: TerminalFolder,
    clock: Arc<dyn Clock>,
    options: BridgeOptions,
    /// Broken result files seen: (length, content hash, unchanged polls).
    broken: Mutex<HashMap<String, Broken>>,
    /// Last sequence used (day, seq): names are never reused within a process.
    last_seq: Mutex<(String, u32)>,
}

/// A broken result file being watched: its length and hash, since when and for how many polls
/// it has been unchanged.
#[derive(Debug, Clone, Copy)]
struct Broken {
    len: usize,
    hash: u64,
    since: std::time::Instant,
    polls: u32,
}

fn hash(bytes: &[u8]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    h.finish()
}

impl Bridge {
    pub fn new(folder: TerminalFolder, clock: Arc<dyn Clock>, options: BridgeOptions) -> Self {
        Self { folder, clock, options, broken: Mutex::new(HashMap::new()), last_seq: Mutex::new((String::new(), 0)) }
    }

    pub fn folder(&self) -> &TerminalFolder {
        &self.folder
    }

    /// Writes a request file and returns its handle. The suffix is `yyyyMMdd` (JST) + a
    /// 4-digit sequence not used by any file in `req/` or `res/`.
    pub fn submit(&self, kind: RequestKind, msg: &XmlMsg) -> Result<RequestHandle, BridgeError> {
        self.folder.ensure()?;
        let day = self.clock.now().with_timezone(&jst()).format("%Y%m%d").to_string();
        let mut existing = HashSet::new();
        for d in [self.folder.req(), self.folder.res()] {
            for e in fs::read_dir(&d).map_err(io_err(&d))? {
                let e = e.map_err(io_err(&d))?;
                existing.insert(e.file_name().to_string_lossy().into_owned());
            }
        }
        let mut last = self.last_seq.lock().unwrap_or_else(|e| e.into_inner());
        let first = if last.0 == day { last.1 + 1 } else { 1 };
        let handle = (first..=9999u32)
            .map(|seq| RequestHandle {
                kind,
                suffix: format!("{day}{seq:04}"),
                arbitrary_file_identifier: msg.message_header.arbitrary_file_identifier.clone(),
            })
            .find(|h| ![h.request_file(), h.error_file(), h.result_file()].iter().any(|n| existing.contains(n)))
            .ok_or_else(|| BridgeError::Rejected {
                request: kind.stem().into(),
                detail: "本日の要求が9999件を超えました".into(),
            })?;
        if let Some(seq) = handle.suffix.get(8..).and_then(|s| s.parse().ok()) {
            *last = (day, seq);
        }
        drop(last);
        let bytes = xml::write(msg, self.options.write);
        write_atomically(&self.folder.root, &self.folder.req(), &handle.request_file(), &bytes)?;
        Ok(handle)
    }

    /// Checks once for the result or a rejection.
    pub fn poll(&self, h: &RequestHandle) -> Result<Poll, BridgeError> {
        let err_path = self.folder.req().join(h.error_file());
        match fs::read(&err_path) {
            Ok(bytes) => {
                return Err(BridgeError::Rejected { request: h.request_file(), detail: read_error_text(&bytes) });
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err(&err_path)(e)),
        }
        let res_path = self.folder.res().join(h.result_file());
        let bytes = match fs::read(&res_path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Poll::Pending),
            Err(e) => return Err(io_err(&res_path)(e)),
        };
        match xml::parse(&bytes) {
            Ok(msg) => {
                self.lock_broken().remove(&h.result_file());
                let got = msg.message_header.arbitrary_file_identifier.clone();
                if h.arbitrary_file_identifier.is_some() && got != h.arbitrary_file_identifier {
                    return Err(BridgeError::Mismatch {
                        file: h.result_file(),
                        expected: h.arbitrary_file_identifier.clone(),
                        got,
                    });
                }
                Ok(Poll::Ready(Box::new(msg)))
            }
            Err(error) => {
                // Possibly still being written: wait until it stops changing.
                let mut broken = self.lock_broken();
                let fresh = Broken { len: bytes.len(), hash: hash(&bytes), since: std::time::Instant::now(), polls: 0 };
                let entry = broken.entry(h.result_file()).or_insert(fresh);
                if (entry.len, entry.hash) != (fresh.len, fresh.hash) {
                    *entry = fresh;
                }
                entry.polls += 1;
                if entry.polls >= self.options.settle_polls && entry.since.elapsed() >= self.options.settle_time {
                    broken.remove(&h.result_file());
                    return Err(BridgeError::Malformed { file: h.result_file(), error });
                }
                Ok(Poll::Pending)
            }
        }
    }

    fn lock_broken(&self) -> std::sync::MutexGuard<'_, HashMap<String, Broken>> {
        self.broken.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Removes the request's files once its result is safely stored by the caller.
    pub fn acknowledge(&self, h: &RequestHandle) -> Result<(), BridgeError> {
        for p in [
            self.folder.res().join(h.result_file()),
            self.folder.req().join(h.error_file()),
            self.folder.req().join(h.request_file()),
        ] {
            match fs::remove_file(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_err(&p)(e)),
            }
        }
        Ok(())
    }

    /// Polls until ready, rejected or `timeout` (wall-clock waiting, not domain time).
    pub fn wait(
        &self,
        h: &RequestHandle,
        interval: std::time::Duration,
        timeout: std::time::Duration,
    ) -> Result<XmlMsg, BridgeError> {
        let start = std::time::Instant::now();
        loop {
            if let Poll::Ready(m) = self.poll(h)? {
                return Ok(*m);
            }
            if start.elapsed() >= timeout {
                return Err(BridgeError::Timeout { request: h.request_file(), waited_ms: start.elapsed().as_millis() });
            }
            std::thread::sleep(interval);
        }
    }

    /// Builds a single-check (再照会) request.
    pub fn single_check_request(
        &self,
        inst: &MedicalInstitutionCode,
        search: &QualificationConfirmSearchInfo,
        arbitrary_file_identifier: Option<&str>,
    ) -> XmlMsg {
        let now = self.clock.now().with_timezone(&jst());
        XmlMsg {
            message_header: MessageHeader {
                qualification_confirmation_date: Some(now.date_naive()),
                medical_institution_code: Some(inst.clone()),
                arbitrary_file_identifier: arbitrary_file_identifier.map(str::to_owned),
                ..Default::default()
            },
            message_body: MessageBody {
                qualification_confirm_search_info: Some(QualificationConfirmSearchInfo {
                    medical_treatment_flag: Some(MedicalTreatmentFlag::HomeVisit),
                    ..search.clone()
                }),
                ..Default::default()
            },
        }
    }

    /// 再照会 through the terminal: submit, wait, acknowledge.
    pub fn single_check(
        &self,
        inst: &MedicalInstitutionCode,
        search: &QualificationConfirmSearchInfo,
        arbitrary_file_identifier: Option<&str>,
        interval: std::time::Duration,
        timeout: std::time::Duration,
    ) -> Result<XmlMsg, BridgeError> {
        let h =
            self.submit(RequestKind::SingleCheck, &self.single_check_request(inst, search, arbitrary_file_identifier))?;
        let m = self.wait(&h, interval, timeout)?;
        self.acknowledge(&h)?;
        terminal_failure(&m)?;
        Ok(m)
    }

    /// Bulk pull of 居宅同意取得型 results by consent date (`OQSmuhvq01` then `02`, repeated
    /// while the terminal answers 処理中).
    pub fn bulk_visit_pull(
        &self,
        inst: &MedicalInstitutionCode,
        from: NaiveDate,
        to: NaiveDate,
        interval: std::time::Duration,
        timeout: std::time::Duration,
    ) -> Result<XmlMsg, BridgeError> {
        let start = std::time::Instant::now();
        let header = MessageHeader { medical_institution_code: Some(inst.clone()), ..Default::default() };
        let req = XmlMsg {
            message_header: header.clone(),
            message_body: MessageBody {
                qualification_confirm_search_info: Some(QualificationConfirmSearchInfo {
                    consent_date_from: Some(from),
                    consent_date_to: Some(to),
                    medical_treatment_flag: Some(MedicalTreatmentFlag::HomeVisit),
                    ..Default::default()
                }),
                ..Default::default()
            },
        };
        let h = self.submit(RequestKind::BulkVisitRequest, &req)?;
        let accepted = self.wait(&h, interval, timeout)?;
        self.acknowledge(&h)?;
        terminal_failure(&accepted)?;
        let reception = accepted
            .message_header
            .reception_number
            .clone()
            .ok_or_else(|| BridgeError::Terminal {
                code: String::new(), message: "受付番号がありません".into()
            })?;
        loop {
            let fetch = XmlMsg {
                message_header: MessageHeader { reception_number: Some(reception.clone()), ..header.clone() },
                message_body: MessageBody::default(),
            };
            let left = timeout.saturating_sub(start.elapsed());
            let h = self.submit(RequestKind::BulkVisitFetch, &fetch)?;
            let m = self.wait(&h, interval, left)?;
            self.acknowledge(&h)?;
            terminal_failure(&m)?;
            if m.message_header.segment_of_result != Some(SegmentOfResult::InProgress) {
                return Ok(m);
            }
            if start.elapsed() >= timeout {
                return Err(BridgeError::Timeout { request: h.request_file(), waited_ms: start.elapsed().as_millis() });
            }
            std::thread::sleep(interval);
        }
    }
}

/// A header-level failure (`SegmentOfResult` 9) as an error.
pub fn terminal_failure(m: &XmlMsg) -> Result<(), BridgeError> {
    let h = &m.message_header;
    if h.segment_of_result == Some(SegmentOfResult::Failed) {
        return Err(BridgeError::Terminal {
            code: h.error_code.clone().unwrap_or_default(),
            message: h.error_message.clone().unwrap_or_default(),
        });
    }
    Ok(())
}

// ---------------------------------------------------------------- emulator

/// How the emulated terminal behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmulatorOptions {
    /// Steps a request waits before it is answered (a slow terminal). 0 = next step.
    pub answer_after_steps: u32,
    /// Write each result in two halves over two steps (a half-written file).
    pub split_writes: bool,
    /// Steps an unreadable request must stay unchanged before it is rejected with `.err`.
    pub settle_steps: u32,
}

impl Default for EmulatorOptions {
    fn default() -> Self {
        Self { answer_after_steps: 0, split_writes: false, settle_steps: 2 }
    }
}

/// What one step did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepReport {
    /// Request files answered (result written or completed).
    pub answered: Vec<String>,
    /// Request files rejected with `.err`.
    pub rejected: Vec<String>,
    /// Requests seen but not answered yet.
    pub waiting: usize,
}

/// An emulated 資格確認端末 driven by the simulator.
#[derive(Debug)]
pub struct TerminalEmulator {
    folder: TerminalFolder,
    sim: Arc<Simulator>,
    options: EmulatorOptions,
    /// Per request file: (content hash, steps seen unchanged).
    seen: HashMap<String, (u64, u32)>,
    /// Results whose second half is still to be written: (result path, full bytes, request).
    half_written: Vec<(PathBuf, Vec<u8>, String)>,
}

impl TerminalEmulator {
    pub fn new(folder: TerminalFolder, sim: Arc<Simulator>, options: EmulatorOptions) -> Result<Self, BridgeError> {
        folder.ensure()?;
        Ok(Self { folder, sim, options, seen: HashMap::new(), half_written: vec![] })
    }

    /// Looks at `req/` once and answers what is ready.
    pub fn step(&mut self) -> Result<StepReport, BridgeError> {
        let mut report = StepReport::default();
        // Finish half-written results first.
        for (path, bytes, req) in std::mem::take(&mut self.half_written) {
            fs::write(&path, &bytes).map_err(io_err(&path))?;
            report.answered.push(req);
        }
        let req_dir = self.folder.req();
        let mut names: Vec<String> = fs::read_dir(&req_dir)
            .map_err(io_err(&req_dir))?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".xml") && !n.starts_with('.'))
            .collect();
        names.sort();
        for name in names {
            let path = req_dir.join(&name);
            let Ok(bytes) = fs::read(&path) else { continue };
            let Some((kind, suffix)) = RequestKind::parse_request_name(&name) else {
                if name.starts_with("OQS") {
                    self.reject(&name, "対応していない要求種別です")?;
                    report.rejected.push(name);
                }
                continue;
            };
            let result_name = format!("{}{}.xml", kind.result_prefix(), suffix);
            // The same name while its result is still uncollected: a duplicate.
            if self.folder.res().join(&result_name).exists() {
                self.reject(&name, "同じファイル名の要求は処理済みです")?;
                report.rejected.push(name);
                continue;
            }
            let h = hash(&bytes);
            let entry = self.seen.entry(name.clone()).or_insert((h, 0));
            if entry.0 != h {
                *entry = (h, 0);
            }
            entry.1 += 1;
            let steps = entry.1;
            let parsed = xml::parse_with_encoding(&bytes);
            let (msg, encoding) = match parsed {
                Ok(v) => v,
                Err(e) => {
                    if steps >= self.options.settle_steps {
                        self.reject(&name, &e.message_ja())?;
                        report.rejected.push(name);
                    } else {
                        report.waiting += 1;
                    }
                    continue;
                }
            };
            if steps <= self.options.answer_after_steps {
                report.waiting += 1;
                continue;
            }
            let mut answer = self.answer(kind, &msg);
            answer.message_header.character_code_identifier = Some(match encoding {
                XmlEncoding::Utf8 => CharacterCodeIdentifier::Utf8,
                XmlEncoding::ShiftJis => CharacterCodeIdentifier::ShiftJis,
            });
            let out = xml::write(&answer, WriteOptions { encoding, ..Default::default() });
            let res_dir = self.folder.res();
            if self.options.split_writes {
                let path = res_dir.join(&result_name);
                fs::write(&path, &out[..out.len() / 2]).map_err(io_err(&path))?;
                self.half_written.push((path, out, name.clone()));
            } else {
                write_atomically(&self.folder.root, &res_dir, &result_name, &out)?;
                report.answered.push(name.clone());
            }
            fs::remove_file(&path).map_err(io_err(&path))?;
            self.seen.remove(&name);
        }
        Ok(report)
    }

    fn reject(&mut self, name: &str, why: &str) -> Result<(), BridgeError> {
        let base = name.strip_suffix(".xml").unwrap_or(name);
        let err_name = format!("{base}.err");
        write_atomically(&self.folder.root, &self.folder.req(), &err_name, why.as_bytes())?;
        let p = self.folder.req().join(name);
        fs::remove_file(&p).map_err(io_err(&p))?;
        self.seen.remove(name);
        Ok(())
    }

    fn answer(&self, kind: RequestKind, req: &XmlMsg) -> XmlMsg {
        let h = &req.message_header;
        let afi = h.arbitrary_file_identifier.as_deref();
        let Some(inst) = &h.medical_institution_code else {
            return header_failure(req, "MedicalInstitutionCode がありません");
        };
        let search = req.message_body.qualification_confirm_search_info.clone().unwrap_or_default();
        match kind {
            RequestKind::SingleCheck => self.sim.reinquire(&ReinquiryRequest {
                medical_institution_code: inst.clone(),
                search,
                visit_kind: VisitKind::HomeMedical,
                arbitrary_file_identifier: afi.map(str::to_owned),
            }),
            RequestKind::BulkVisitRequest => match (search.consent_date_from, search.consent_date_to) {
                (Some(from), Some(to)) => self.sim.bulk_visit_request(inst, from, to, afi),
                _ => header_failure(req, "ConsentDateFrom と ConsentDateTo が必要です"),
            },
            RequestKind::BulkVisitFetch => match &h.reception_number {
                Some(r) => self.sim.bulk_visit_fetch(inst, r, afi),
                None => header_failure(req, "ReceptionNumber がありません"),
            },
        }
    }

    /// Steps every `interval` until `stop` is set (the CLI's `terminal-sim`).
    pub fn run(
        &mut self,
        interval: std::time::Duration,
        stop: &AtomicBool,
        mut on_step: impl FnMut(&StepReport),
    ) -> Result<(), BridgeError> {
        while !stop.load(Ordering::Relaxed) {
            let r = self.step()?;
            if !r.answered.is_empty() || !r.rejected.is_empty() {
                on_step(&r);
            }
            std::thread::sleep(interval);
        }
        Ok(())
    }
}

fn header_failure(req: &XmlMsg, why: &str) -> XmlMsg {
    XmlMsg {
        message_header: MessageHeader {
            arbitrary_file_identifier: req.message_header.arbitrary_file_identifier.clone(),
            medical_institution_code: req.message_header.medical_institution_code.clone(),
            segment_of_result: Some(SegmentOfResult::Failed),
            error_code: Some(SimResultCode::RequestInvalid.code().into()),
            error_message: Some(format!("{}（{why}）", SimResultCode::RequestInvalid.message_ja())),
            ..Default::default()
        },
        message_body: MessageBody::default(),
    }
}
