//! The 資格確認端末 XML codec: [`parse`] bytes (UTF-8 or Shift_JIS) into an [`XmlMsg`] and
//! [`write()`] one back.
//!
//! Parsing goes through a small element tree, so elements may come in any order and unknown
//! elements are skipped. Malformed input is an [`XmlError`] whose `path` names the element
//! (`XmlMsg/MessageBody/ResultList/ResultOfQualificationConfirmation[1]/Birthdate`); it never
//! panics. Limits on size and depth keep hostile files cheap.

use crate::codes::*;
use crate::numbers::{InsurerNumber, KokuhoPadding, MedicalInstitutionCode};
use crate::types::*;
use chrono::{NaiveDate, NaiveDateTime};
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use std::collections::HashMap;

/// Largest file we read (bulk results for a clinic stay far below this).
pub const MAX_INPUT_BYTES: usize = 32 * 1024 * 1024;
/// Deepest element nesting we accept (the schema needs 6).
pub const MAX_DEPTH: usize = 32;

/// Text encoding of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum XmlEncoding {
    #[default]
    Utf8,
    /// Shift_JIS as Windows writes it (CP932, the WHATWG "Shift_JIS").
    ShiftJis,
}

impl XmlEncoding {
    fn label(self) -> &'static str {
        match self {
            Self::Utf8 => "UTF-8",
            Self::ShiftJis => "Shift_JIS",
        }
    }
}

/// What went wrong, without the location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum XmlErrorKind {
    /// Bytes are not valid in the declared encoding.
    Encoding(String),
    /// Not well-formed XML (includes a truncated file).
    Syntax(String),
    /// The root element is not `XmlMsg`.
    WrongRoot(String),
    /// A required element is missing.
    Missing,
    /// An element that may appear once appears again.
    Duplicate,
    /// The value does not fit the element's format or code table.
    InvalidValue { value: String, expected: String },
    /// Input larger than [`MAX_INPUT_BYTES`] or nested deeper than [`MAX_DEPTH`].
    TooLarge(String),
}

/// A parse error naming the element (as a path) where it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlError {
    /// Slash-separated element path; empty when not inside any element.
    pub path: String,
    pub kind: XmlErrorKind,
}

impl std::fmt::Display for XmlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = if self.path.is_empty() { "document".to_owned() } else { format!("<{}>", self.path) };
        match &self.kind {
            XmlErrorKind::Encoding(d) => write!(f, "{at}: cannot decode text: {d}"),
            XmlErrorKind::Syntax(d) => write!(f, "{at}: malformed XML: {d}"),
            XmlErrorKind::WrongRoot(r) => write!(f, "root element is <{r}>, expected <XmlMsg>"),
            XmlErrorKind::Missing => write!(f, "{at}: required element is missing"),
            XmlErrorKind::Duplicate => write!(f, "{at}: element appears more than once"),
            XmlErrorKind::InvalidValue { value, expected } => {
                write!(f, "{at}: invalid value {value:?} (expected {expected})")
            }
            XmlErrorKind::TooLarge(d) => write!(f, "{at}: {d}"),
        }
    }
}

impl std::error::Error for XmlError {}

impl XmlError {
    fn new(path: impl Into<String>, kind: XmlErrorKind) -> Self {
        Self { path: path.into(), kind }
    }
    /// Japanese message for users, with what to do next.
    pub fn message_ja(&self) -> String {
        let at = if self.path.is_empty() { "ファイル全体".to_owned() } else { format!("要素 <{}>", self.path) };
        let what = match &self.kind {
            XmlErrorKind::Encoding(_) => "文字コード（UTF-8 または Shift_JIS）として読めません".to_owned(),
            XmlErrorKind::Syntax(d) => format!("XML の形式が壊れています（{d}）"),
            XmlErrorKind::WrongRoot(r) => {
                format!("資格確認のXMLではありません（ルート要素が <{r}>）")
            }
            XmlErrorKind::Missing => "必要な要素がありません".to_owned(),
            XmlErrorKind::Duplicate => "同じ要素が2回以上あります".to_owned(),
            XmlErrorKind::InvalidValue { value, expected } => {
                format!("値「{value}」が正しくありません（{expected}）")
            }
            XmlErrorKind::TooLarge(d) => format!("ファイルが大きすぎるか入れ子が深すぎます（{d}）"),
        };
        format!("{at}: {what}。資格確認端末の出力ファイルか確認し、再度照会してください。")
    }
    /// True when the input looks cut off (a file still being written).
    pub fn is_truncated(&self) -> bool {
        matches!(&self.kind, XmlErrorKind::Syntax(d) if d.contains("end of file") || d.contains("EOF") || d.contains("unclosed"))
    }
}

// ---------------------------------------------------------------- element tree

#[derive(Debug, Default)]
struct Node {
    name: String,
    text: String,
    children: Vec<Node>,
}

/// Finds `encoding="…"` in the XML declaration.
fn declared_encoding(bytes: &[u8]) -> Option<XmlEncoding> {
    let head = &bytes[..bytes.len().min(200)];
    if !head.starts_with(b"<?xml") {
        return None;
    }
    let end = head.windows(2).position(|w| w == b"?>")?;
    let decl = String::from_utf8_lossy(&head[..end]).to_ascii_lowercase();
    let pos = decl.find("encoding")?;
    let rest = decl[pos + 8..].trim_start().strip_prefix('=')?.trim_start();
    let quote = rest.chars().next().filter(|q| *q == '"' || *q == '\'')?;
    let value = rest[1..].split(quote).next()?;
    Some(match value {
        "shift_jis" | "shift-jis" | "sjis" | "x-sjis" | "windows-31j" | "cp932" | "ms932" => XmlEncoding::ShiftJis,
        _ => XmlEncoding::Utf8,
    })
}

/// Decodes the bytes to text according to BOM / declaration.
pub fn decode(bytes: &[u8]) -> Result<(String, XmlEncoding), XmlError> {
    if bytes.len() > MAX_INPUT_BYTES {
        return Err(XmlError::new("", XmlErrorKind::TooLarge(format!("{} bytes", bytes.len()))));
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match declared_encoding(bytes).unwrap_or(XmlEncoding::Utf8) {
        XmlEncoding::Utf8 => match std::str::from_utf8(bytes) {
            Ok(s) => Ok((s.to_owned(), XmlEncoding::Utf8)),
            Err(e) => Err(XmlError::new("", XmlErrorKind::Encoding(format!("UTF-8: {e}")))),
        },
        XmlEncoding::ShiftJis => encoding_rs::SHIFT_JIS
            .decode_without_bom_handling_and_without_replacement(bytes)
            .map(|s| (s.into_owned(), XmlEncoding::ShiftJis))
            .ok_or_else(|| XmlError::new("", XmlErrorKind::Encoding("invalid Shift_JIS byte sequence".into()))),
    }
}

fn path_of(stack: &[Node]) -> String {
    stack.iter().map(|n| n.name.as_str()).collect::<Vec<_>>().join("/")
}

fn build_tree(text: &str) -> Result<Node, XmlError> {
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Node> = Vec::new();
    let mut root: Option<Node> = None;
    let syntax = |stack: &[Node], e: &dyn std::fmt::Display, pos: u64| {
        XmlError::new(path_of(stack), XmlErrorKind::Syntax(format!("{e} (byte {pos})")))
    };
    loop {
        let ev = match reader.read_event() {
            Ok(ev) => ev,
            Err(e) => return Err(syntax(&stack, &e, reader.error_position())),
        };
        match ev {
            Event::Start(s) | Event::Empty(s) if root.is_some() => {
                let name = String::from_utf8_lossy(s.name().as_ref()).into_owned();
                return Err(syntax(
                    &stack,
                    &format!("content after the root element: <{name}>"),
                    reader.buffer_position(),
                ));
            }
            Event::Start(s) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(XmlError::new(
                        path_of(&stack),
                        XmlErrorKind::TooLarge(format!("nesting deeper than {MAX_DEPTH}")),
                    ));
                }
                let name = String::from_utf8_lossy(local(s.name().as_ref())).into_owned();
                stack.push(Node { name, ..Node::default() });
            }
            Event::Empty(s) => {
                let node =
                    Node { name: String::from_utf8_lossy(local(s.name().as_ref())).into_owned(), ..Node::default() };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => root = Some(node),
                }
            }
            Event::End(_) => {
                let node =
                    stack.pop().ok_or_else(|| syntax(&stack, &"unexpected end tag", reader.buffer_position()))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => root = Some(node),
                }
            }
            Event::Text(t) => {
                if !stack.is_empty() {
                    let s = t.xml_content().map_err(|e| syntax(&stack, &e, reader.buffer_position()))?;
                    if let Some(cur) = stack.last_mut() {
                        cur.text.push_str(&s);
                    }
                } else if !t.iter().all(|b| b.is_ascii_whitespace()) {
                    return Err(syntax(&stack, &"text outside the root element", reader.buffer_position()));
                }
            }
            Event::CData(t) => {
                let s = t.decode().map_err(|e| syntax(&stack, &e, reader.buffer_position()))?;
                if let Some(cur) = stack.last_mut() {
                    cur.text.push_str(&s);
                }
            }
            Event::GeneralRef(r) => {
                let c = if r.is_char_ref() {
                    r.resolve_char_ref().map_err(|e| syntax(&stack, &e, reader.buffer_position()))?
                } else {
                    let name = r.decode().map_err(|e| syntax(&stack, &e, reader.buffer_position()))?;
                    match &*name {
                        "amp" => Some('&'),
                        "lt" => Some('<'),
                        "gt" => Some('>'),
                        "quot" => Some('"'),
                        "apos" => Some('\''),
                        other => {
                            return Err(syntax(&stack, &format!("unknown entity &{other};"), reader.buffer_position()));
                        }
                    }
                };
                match (c, stack.last_mut()) {
                    (Some(c), Some(cur)) => cur.text.push(c),
                    _ => {
                        return Err(syntax(&stack, &"invalid character reference", reader.buffer_position()));
                    }
                }
            }
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err(syntax(&stack, &"unexpected end of file: unclosed element", reader.buffer_position()));
    }
    root.ok_or_else(|| XmlError::new("", XmlErrorKind::Syntax("unexpected end of file: no root element".into())))
}

/// Drops a namespace prefix (`ns:XmlMsg` → `XmlMsg`).
fn local(name: &[u8]) -> &[u8] {
    match name.iter().position(|&b| b == b':') {
        Some(i) => &name[i + 1..],
        None => name,
    }
}

// ---------------------------------------------------------------- tree → types

/// Children of one element, looked up by name.
struct Fields<'a> {
    path: String,
    by_name: HashMap<&'a str, Vec<&'a Node>>,
}

fn invalid(path: &str, name: &str, value: &str, expected: impl Into<String>) -> XmlError {
    XmlError::new(
        format!("{path}/{name}"),
        XmlErrorKind::InvalidValue { value: value.chars().take(80).collect(), expected: expected.into() },
    )
}

impl<'a> Fields<'a> {
    fn new(node: &'a Node, path: String) -> Self {
        let mut by_name: HashMap<&str, Vec<&Node>> = HashMap::new();
        for c in &node.children {
            by_name.entry(c.name.as_str()).or_default().push(c);
        }
        Self { path, by_name }
    }
    fn one(&self, name: &str) -> Result<Option<&'a Node>, XmlError> {
        match self.by_name.get(name).map(Vec::as_slice) {
            None | Some([]) => Ok(None),
            Some([n]) => Ok(Some(n)),
            Some(_) => Err(XmlError::new(format!("{}/{name}", self.path), XmlErrorKind::Duplicate)),
        }
    }
    fn all(&self, name: &str) -> &[&'a Node] {
        self.by_name.get(name).map(Vec::as_slice).unwrap_or(&[])
    }
    /// Trimmed text; an empty element counts as absent.
    fn text(&self, name: &str) -> Result<Option<String>, XmlError> {
        Ok(self.one(name)?.map(|n| n.text.trim()).filter(|t| !t.is_empty()).map(str::to_owned))
    }
    fn code<T: CodeTable>(&self, name: &str) -> Result<Option<T>, XmlError> {
        match self.text(name)? {
            None => Ok(None),
            Some(t) => T::from_code(&t).map(Some).ok_or_else(|| {
                let codes: Vec<&str> = T::ALL.iter().map(|v| v.code()).collect();
                invalid(&self.path, name, &t, format!("one of {}", codes.join(", ")))
            }),
        }
    }
    fn date(&self, name: &str) -> Result<Option<NaiveDate>, XmlError> {
        match self.text(name)? {
            None => Ok(None),
            Some(t) => parse_date(&t).map(Some).ok_or_else(|| invalid(&self.path, name, &t, "a date YYYYMMDD")),
        }
    }
    fn datetime(&self, name: &str) -> Result<Option<NaiveDateTime>, XmlError> {
        match self.text(name)? {
            None => Ok(None),
            Some(t) => {
                parse_datetime(&t).map(Some).ok_or_else(|| invalid(&self.path, name, &t, "a time YYYYMMDDHHmmss"))
            }
        }
    }
    fn number(&self, name: &str) -> Result<Option<u32>, XmlError> {
        match self.text(name)? {
            None => Ok(None),
            Some(t) => t.parse::<u32>().map(Some).map_err(|_| invalid(&self.path, name, &t, "a whole number")),
        }
    }
    /// A text value that may legitimately carry padding (保険者番号); not trimmed before parsing.
    fn insurer(&self, name: &str) -> Result<Option<InsurerNumber>, XmlError> {
        match self.one(name)? {
            None => Ok(None),
            Some(n) if n.text.trim().is_empty() => Ok(None),
            Some(n) => {
                InsurerNumber::parse(&n.text).map(Some).map_err(|e| invalid(&self.path, name, &n.text, e.to_string()))
            }
        }
    }
    fn institution(&self, name: &str) -> Result<Option<MedicalInstitutionCode>, XmlError> {
        match self.text(name)? {
            None => Ok(None),
            Some(t) => {
                MedicalInstitutionCode::parse(&t).map(Some).map_err(|e| invalid(&self.path, name, &t, e.to_string()))
            }
        }
    }
    fn child(&self, name: &str) -> Result<Option<Fields<'a>>, XmlError> {
        Ok(self.one(name)?.map(|n| Fields::new(n, format!("{}/{name}", self.path))))
    }
}

/// YYYYMMDD (also accepts YYYY-MM-DD and YYYY/MM/DD, seen in hand-made files).
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let digits: String = s.chars().filter(|c| *c != '-' && *c != '/').collect();
    if digits.len() != 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    NaiveDate::parse_from_str(&digits, "%Y%m%d").ok()
}

/// YYYYMMDDHHmmss.
pub fn parse_datetime(s: &str) -> Option<NaiveDateTime> {
    if s.len() != 14 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    NaiveDateTime::parse_from_str(s, "%Y%m%d%H%M%S").ok()
}

fn fmt_date(d: NaiveDate) -> String {
    d.format("%Y%m%d").to_string()
}
fn fmt_datetime(d: NaiveDateTime) -> String {
    d.format("%Y%m%d%H%M%S").to_string()
}

/// Parses a message (request or result) from file bytes.
pub fn parse(bytes: &[u8]) -> Result<XmlMsg, XmlError> {
    Ok(parse_with_encoding(bytes)?.0)
}

/// Like [`parse`], also telling which encoding the file used.
pub fn parse_with_encoding(bytes: &[u8]) -> Result<(XmlMsg, XmlEncoding), XmlError> {
    let (text, enc) = decode(bytes)?;
    let root = build_tree(&text)?;
    if root.name != "XmlMsg" {
        return Err(XmlError::new("", XmlErrorKind::WrongRoot(root.name.chars().take(80).collect())));
    }
    let f = Fields::new(&root, "XmlMsg".into());
    let header =
        f.child("MessageHeader")?.ok_or_else(|| XmlError::new("XmlMsg/MessageHeader", XmlErrorKind::Missing))?;
    let body = f.child("MessageBody")?;
    Ok((
        XmlMsg {
            message_header: read_header(&header)?,
            message_body: match body {
                Some(b) => read_body(&b)?,
                None => MessageBody::default(),
            },
        },
        enc,
    ))
}

fn read_header(f: &Fields) -> Result<MessageHeader, XmlError> {
    Ok(MessageHeader {
        process_execution_time: f.datetime("ProcessExecutionTime")?,
        qualification_confirmation_date: f.date("QualificationConfirmationDate")?,
        medical_institution_code: f.institution("MedicalInstitutionCode")?,
        arbitrary_file_identifier: f.text("ArbitraryFileIdentifier")?,
        reference_classification: f.code("ReferenceClassification")?,
        segment_of_result: f.code("SegmentOfResult")?,
        error_code: f.text("ErrorCode")?,
        error_message: f.text("ErrorMessage")?,
        character_code_identifier: f.code("CharacterCodeIdentifier")?,
        reception_number: f.text("ReceptionNumber")?,
        number_of_processing_result: f.number("NumberOfProcessingResult")?,
        number_of_normal_processing: f.number("NumberOfNormalProcessing")?,
        number_of_error: f.number("NumberOfError")?,
    })
}

fn read_search(f: &Fields) -> Result<QualificationConfirmSearchInfo, XmlError> {
    Ok(QualificationConfirmSearchInfo {
        insurer_number: f.insurer("InsurerNumber")?,
        insured_card_symbol: f.text("InsuredCardSymbol")?,
        insured_identification_number: f.text("InsuredIdentificationNumber")?,
        insured_branch_number: f.text("InsuredBranchNumber")?,
        birthdate: f.date("Birthdate")?,
        limit_application_certificate_related_cons_flg: f.code("LimitApplicationCertificateRelatedConsFlg")?,
        consent_date_from: f.date("ConsentDateFrom")?,
        consent_date_to: f.date("ConsentDateTo")?,
        medical_treatment_flag: f.code("MedicalTreatmentFlag")?,
    })
}

fn read_body(f: &Fields) -> Result<MessageBody, XmlError> {
    let mut result_list = Vec::new();
    if let Some(list) = f.child("ResultList")? {
        for (i, n) in list.all("ResultOfQualificationConfirmation").iter().enumerate() {
            let rf = Fields::new(n, format!("{}/ResultOfQualificationConfirmation[{}]", list.path, i + 1));
            result_list.push(read_result(&rf)?);
        }
    }
    let mut bulk_confirm_units = Vec::new();
    for (i, n) in f.all("BulkConfirmUnit").iter().enumerate() {
        let uf = Fields::new(n, format!("{}/BulkConfirmUnit[{}]", f.path, i + 1));
        bulk_confirm_units.push(BulkConfirmUnit {
            qualification_confirm_search_info: uf
                .child("QualificationConfirmSearchInfo")?
                .map(|s| read_search(&s))
                .transpose()?,
            processing_result_status: uf.code("ProcessingResultStatus")?,
            processing_result_code: uf.text("ProcessingResultCode")?,
            processing_result_message: uf.text("ProcessingResultMessage")?,
            qualification_validity: uf.code("QualificationValidity")?,
            prescription_issue_select: uf.code("PrescriptionIssueSelect")?,
            result_of_qualification_confirmation: uf
                .child("ResultOfQualificationConfirmation")?
                .map(|r| read_result(&r))
                .transpose()?,
            reference_number: uf.text("ReferenceNumber")?,
        });
    }
    Ok(MessageBody {
        processing_result_status: f.code("ProcessingResultStatus")?,
        processing_result_code: f.text("ProcessingResultCode")?,
        processing_result_message: f.text("ProcessingResultMessage")?,
        qualification_validity: f.code("QualificationValidity")?,
        prescription_issue_select: f.code("PrescriptionIssueSelect")?,
        qualification_confirm_search_info: f
            .child("QualificationConfirmSearchInfo")?
            .map(|s| read_search(&s))
            .transpose()?,
        result_list,
        bulk_confirm_units,
    })
}

/// Consent flag elements that are not 閲覧同意 items.
const NON_INFO_CONSENT_PREFIXES: [&str; 2] =
    ["LimitApplicationCertificateRelated", "SpecificDiseasesCertificateRelated"];

fn read_result(f: &Fields) -> Result<ResultOfQualificationConfirmation, XmlError> {
    let elderly = match f.child("ElderlyRecipientCertificateInfo")? {
        None => None,
        Some(e) => Some(ElderlyRecipientCertificateInfo {
            certificate_date: e.date("ElderlyRecipientCertificateDate")?,
            valid_start_date: e.date("ElderlyRecipientValidStartDate")?,
            valid_end_date: e.date("ElderlyRecipientValidEndDate")?,
            contribution_ratio: ratio(&e, "ElderlyRecipientContributionRatio")?,
        }),
    };
    let limit = match f.child("LimitApplicationCertificateRelatedInfo")? {
        None => None,
        Some(e) => Some(LimitApplicationCertificateInfo {
            classification: e.code("LimitApplicationCertificateClassification")?,
            classification_flag: e.code("LimitApplicationCertificateClassificationFlag")?,
            certificate_date: e.date("LimitApplicationCertificateDate")?,
            valid_start_date: e.date("LimitApplicationCertificateValidStartDate")?,
            valid_end_date: e.date("LimitApplicationCertificateValidEndDate")?,
            long_term_date: e.date("LimitApplicationCertificateLongTermDate")?,
        }),
    };
    let mut diseases = Vec::new();
    if let Some(list) = f.child("SpecificDiseasesCertificateList")? {
        for (i, n) in list.all("SpecificDiseasesCertificateInfo").iter().enumerate() {
            let e = Fields::new(n, format!("{}/SpecificDiseasesCertificateInfo[{}]", list.path, i + 1));
            diseases.push(SpecificDiseasesCertificateInfo {
                disease_category: e.code("SpecificDiseasesDiseaseCategory")?,
                certificate_date: e.date("SpecificDiseasesCertificateDate")?,
                valid_start_date: e.date("SpecificDiseasesValidStartDate")?,
                valid_end_date: e.date("SpecificDiseasesValidEndDate")?,
                self_pay: e.number("SpecificDiseasesSelfPay")?,
            });
        }
    }
    // 閲覧同意 items: any `<Prefix>ConsFlg` / `ConsTime` / `AvailableTime` triple.
    let mut prefixes: Vec<&str> = Vec::new();
    let mut names: Vec<&&str> = f.by_name.keys().collect();
    names.sort();
    for name in names {
        for suffix in ["ConsFlg", "ConsTime", "AvailableTime"] {
            if let Some(p) = name.strip_suffix(suffix)
                && is_xml_name(p)
                && !NON_INFO_CONSENT_PREFIXES.contains(&p)
                && !prefixes.contains(&p)
            {
                prefixes.push(p);
            }
        }
    }
    let mut info_consents: Vec<InfoConsent> = prefixes
        .into_iter()
        .map(|p| {
            Ok(InfoConsent {
                item: ConsentItem::from_prefix(p),
                cons_flg: f.code(&format!("{p}ConsFlg"))?,
                cons_time: f.datetime(&format!("{p}ConsTime"))?,
                available_time: f.datetime(&format!("{p}AvailableTime"))?,
            })
        })
        .collect::<Result<_, XmlError>>()?;
    // Items whose elements were all empty carry nothing.
    info_consents.retain(|c| c.cons_flg.is_some() || c.cons_time.is_some() || c.available_time.is_some());
    info_consents.sort_by(|a, b| a.item.cmp(&b.item));
    Ok(ResultOfQualificationConfirmation {
        insured_card_classification: f.code("InsuredCardClassification")?,
        insurer_number: f.insurer("InsurerNumber")?,
        insured_card_symbol: f.text("InsuredCardSymbol")?,
        insured_identification_number: f.text("InsuredIdentificationNumber")?,
        insured_branch_number: f.text("InsuredBranchNumber")?,
        personal_family_classification: f.code("PersonalFamilyClassification")?,
        insured_name: f.text("InsuredName")?,
        name: f.text("Name")?,
        name_of_other: f.text("NameOfOther")?,
        name_kana: f.text("NameKana")?,
        name_of_other_kana: f.text("NameOfOtherKana")?,
        sex1: f.code("Sex1")?,
        sex2: f.code("Sex2")?,
        birthdate: f.date("Birthdate")?,
        address: f.text("Address")?,
        post_number: f.text("PostNumber")?,
        qualification_date: f.date("QualificationDate")?,
        disqualification_date: f.date("DisqualificationDate")?,
        insured_certificate_issuance_date: f.date("InsuredCertificateIssuanceDate")?,
        insured_card_valid_date: f.date("InsuredCardValidDate")?,
        insured_card_expiration_date: f.date("InsuredCardExpirationDate")?,
        insured_partial_contribution_ratio: ratio(f, "InsuredPartialContributionRatio")?,
        preschool_classification: f.code("PreschoolClassification")?,
        reason_of_loss: f.code("ReasonOfLoss")?,
        insurer_name: f.text("InsurerName")?,
        elderly_recipient_certificate_info: elderly,
        limit_application_certificate_related_cons_flg: f.code("LimitApplicationCertificateRelatedConsFlg")?,
        limit_application_certificate_related_cons_time: f.datetime("LimitApplicationCertificateRelatedConsTime")?,
        limit_application_certificate_related_info: limit,
        specific_diseases_certificate_related_cons_flg: f.code("SpecificDiseasesCertificateRelatedConsFlg")?,
        specific_diseases_certificate_related_cons_time: f.datetime("SpecificDiseasesCertificateRelatedConsTime")?,
        specific_diseases_certificate_list: diseases,
        info_consents,
    })
}

fn ratio(f: &Fields, name: &str) -> Result<Option<ContributionRatio>, XmlError> {
    match f.text(name)? {
        None => Ok(None),
        Some(t) => ContributionRatio::parse(&t)
            .map(Some)
            .ok_or_else(|| invalid(&f.path, name, &t, "a 3-digit percentage such as 030")),
    }
}

// ---------------------------------------------------------------- types → XML

/// Options for [`write()`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteOptions {
    pub encoding: XmlEncoding,
    pub kokuho_padding: KokuhoPadding,
}

struct Out {
    w: quick_xml::Writer<Vec<u8>>,
    padding: KokuhoPadding,
}

impl Out {
    fn start(&mut self, name: &str) {
        // Writing into a Vec cannot fail.
        let _ = self.w.write_event(Event::Start(BytesStart::new(name)));
    }
    fn end(&mut self, name: &str) {
        let _ = self.w.write_event(Event::End(BytesEnd::new(name)));
    }
    fn leaf(&mut self, name: &str, value: Option<&str>) {
        if let Some(v) = value {
            self.start(name);
            let _ = self.w.write_event(Event::Text(BytesText::from_escaped(escape_text(v))));
            self.end(name);
        }
    }
    fn code<T: CodeTable>(&mut self, name: &str, v: Option<T>) {
        self.leaf(name, v.map(|c| c.code()));
    }
    fn date(&mut self, name: &str, v: Option<NaiveDate>) {
        self.leaf(name, v.map(fmt_date).as_deref());
    }
    fn datetime(&mut self, name: &str, v: Option<NaiveDateTime>) {
        self.leaf(name, v.map(fmt_datetime).as_deref());
    }
    fn num(&mut self, name: &str, v: Option<u32>) {
        self.leaf(name, v.map(|n| n.to_string()).as_deref());
    }
    fn insurer(&mut self, name: &str, v: Option<&InsurerNumber>) {
        let padding = self.padding;
        self.leaf(name, v.map(|n| n.to_wire(padding)).as_deref());
    }
}

/// Writes a message as the terminal and the linkage application expect (declaration with the
/// encoding, 2-space indentation). Characters Shift_JIS cannot hold are written as numeric
/// character references, which every XML reader turns back into the character.
pub fn write(msg: &XmlMsg, opts: WriteOptions) -> Vec<u8> {
    let mut o = Out { w: quick_xml::Writer::new_with_indent(Vec::new(), b' ', 2), padding: opts.kokuho_padding };
    let _ = o.w.write_event(Event::Decl(BytesDecl::new("1.0", Some(opts.encoding.label()), Some("no"))));
    o.start("XmlMsg");
    write_header(&mut o, &msg.message_header);
    write_body(&mut o, &msg.message_body);
    o.end("XmlMsg");
    let mut text = o.w.into_inner();
    text.push(b'\n');
    match opts.encoding {
        XmlEncoding::Utf8 => text,
        XmlEncoding::ShiftJis => {
            // The writer produced UTF-8 (it only ever sees &str).
            let s = String::from_utf8_lossy(&text);
            encoding_rs::SHIFT_JIS.encode(&sjis_safe(&s)).0.into_owned()
        }
    }
}

fn write_header(o: &mut Out, h: &MessageHeader) {
    o.start("MessageHeader");
    o.datetime("ProcessExecutionTime", h.process_execution_time);
    o.date("QualificationConfirmationDate", h.qualification_confirmation_date);
    o.leaf("MedicalInstitutionCode", h.medical_institution_code.as_ref().map(|c| c.as_str()));
    o.leaf("ArbitraryFileIdentifier", h.arbitrary_file_identifier.as_deref());
    o.code("ReferenceClassification", h.reference_classification);
    o.code("SegmentOfResult", h.segment_of_result);
    o.leaf("ErrorCode", h.error_code.as_deref());
    o.leaf("ErrorMessage", h.error_message.as_deref());
    o.code("CharacterCodeIdentifier", h.character_code_identifier);
    o.leaf("ReceptionNumber", h.reception_number.as_deref());
    o.num("NumberOfProcessingResult", h.number_of_processing_result);
    o.num("NumberOfNormalProcessing", h.number_of_normal_processing);
    o.num("NumberOfError", h.number_of_error);
    o.end("MessageHeader");
}

fn write_search(o: &mut Out, s: &QualificationConfirmSearchInfo) {
    o.start("QualificationConfirmSearchInfo");
    o.insurer("InsurerNumber", s.insurer_number.as_ref());
    o.leaf("InsuredCardSymbol", s.insured_card_symbol.as_deref());
    o.leaf("InsuredIdentificationNumber", s.insured_identification_number.as_deref());
    o.leaf("InsuredBranchNumber", s.insured_branch_number.as_deref());
    o.date("Birthdate", s.birthdate);
    o.code("LimitApplicationCertificateRelatedConsFlg", s.limit_application_certificate_related_cons_flg);
    o.date("ConsentDateFrom", s.consent_date_from);
    o.date("ConsentDateTo", s.consent_date_to);
    o.code("MedicalTreatmentFlag", s.medical_treatment_flag);
    o.end("QualificationConfirmSearchInfo");
}

fn write_body(o: &mut Out, b: &MessageBody) {
    o.start("MessageBody");
    o.code("ProcessingResultStatus", b.processing_result_status);
    o.leaf("ProcessingResultCode", b.processing_result_code.as_deref());
    o.leaf("ProcessingResultMessage", b.processing_result_message.as_deref());
    o.code("QualificationValidity", b.qualification_validity);
    o.code("PrescriptionIssueSelect", b.prescription_issue_select);
    if let Some(s) = &b.qualification_confirm_search_info {
        write_search(o, s);
    }
    if !b.result_list.is_empty() {
        o.start("ResultList");
        for r in &b.result_list {
            write_result(o, r, "ResultOfQualificationConfirmation");
        }
        o.end("ResultList");
    }
    for u in &b.bulk_confirm_units {
        o.start("BulkConfirmUnit");
        if let Some(s) = &u.qualification_confirm_search_info {
            write_search(o, s);
        }
        o.code("ProcessingResultStatus", u.processing_result_status);
        o.leaf("ProcessingResultCode", u.processing_result_code.as_deref());
        o.leaf("ProcessingResultMessage", u.processing_result_message.as_deref());
        o.code("QualificationValidity", u.qualification_validity);
        o.code("PrescriptionIssueSelect", u.prescription_issue_select);
        if let Some(r) = &u.result_of_qualification_confirmation {
            write_result(o, r, "ResultOfQualificationConfirmation");
        }
        o.leaf("ReferenceNumber", u.reference_number.as_deref());
        o.end("BulkConfirmUnit");
    }
    o.end("MessageBody");
}

fn write_result(o: &mut Out, r: &ResultOfQualificationConfirmation, tag: &str) {
    o.start(tag);
    o.code("InsuredCardClassification", r.insured_card_classification);
    o.insurer("InsurerNumber", r.insurer_number.as_ref());
    o.leaf("InsuredCardSymbol", r.insured_card_symbol.as_deref());
    o.leaf("InsuredIdentificationNumber", r.insured_identification_number.as_deref());
    o.leaf("InsuredBranchNumber", r.insured_branch_number.as_deref());
    o.code("PersonalFamilyClassification", r.personal_family_classification);
    o.leaf("InsuredName", r.insured_name.as_deref());
    o.leaf("Name", r.name.as_deref());
    o.leaf("NameOfOther", r.name_of_other.as_deref());
    o.leaf("NameKana", r.name_kana.as_deref());
    o.leaf("NameOfOtherKana", r.name_of_other_kana.as_deref());
    o.code("Sex1", r.sex1);
    o.code("Sex2", r.sex2);
    o.date("Birthdate", r.birthdate);
    o.leaf("Address", r.address.as_deref());
    o.leaf("PostNumber", r.post_number.as_deref());
    o.date("QualificationDate", r.qualification_date);
    o.date("DisqualificationDate", r.disqualification_date);
    o.date("InsuredCertificateIssuanceDate", r.insured_certificate_issuance_date);
    o.date("InsuredCardValidDate", r.insured_card_valid_date);
    o.date("InsuredCardExpirationDate", r.insured_card_expiration_date);
    o.leaf("InsuredPartialContributionRatio", r.insured_partial_contribution_ratio.map(|c| c.code()).as_deref());
    o.code("PreschoolClassification", r.preschool_classification);
    o.code("ReasonOfLoss", r.reason_of_loss);
    o.leaf("InsurerName", r.insurer_name.as_deref());
    if let Some(e) = &r.elderly_recipient_certificate_info {
        o.start("ElderlyRecipientCertificateInfo");
        o.date("ElderlyRecipientCertificateDate", e.certificate_date);
        o.date("ElderlyRecipientValidStartDate", e.valid_start_date);
        o.date("ElderlyRecipientValidEndDate", e.valid_end_date);
        o.leaf("ElderlyRecipientContributionRatio", e.contribution_ratio.map(|c| c.code()).as_deref());
        o.end("ElderlyRecipientCertificateInfo");
    }
    o.code("LimitApplicationCertificateRelatedConsFlg", r.limit_application_certificate_related_cons_flg);
    o.datetime("LimitApplicationCertificateRelatedConsTime", r.limit_application_certificate_related_cons_time);
    if let Some(l) = &r.limit_application_certificate_related_info {
        o.start("LimitApplicationCertificateRelatedInfo");
        o.code("LimitApplicationCertificateClassification", l.classification);
        o.code("LimitApplicationCertificateClassificationFlag", l.classification_flag);
        o.date("LimitApplicationCertificateDate", l.certificate_date);
        o.date("LimitApplicationCertificateValidStartDate", l.valid_start_date);
        o.date("LimitApplicationCertificateValidEndDate", l.valid_end_date);
        o.date("LimitApplicationCertificateLongTermDate", l.long_term_date);
        o.end("LimitApplicationCertificateRelatedInfo");
    }
    o.code("SpecificDiseasesCertificateRelatedConsFlg", r.specific_diseases_certificate_related_cons_flg);
    o.datetime("SpecificDiseasesCertificateRelatedConsTime", r.specific_diseases_certificate_related_cons_time);
    if !r.specific_diseases_certificate_list.is_empty() {
        o.start("SpecificDiseasesCertificateList");
        for d in &r.specific_diseases_certificate_list {
            o.start("SpecificDiseasesCertificateInfo");
            o.code("SpecificDiseasesDiseaseCategory", d.disease_category);
            o.date("SpecificDiseasesCertificateDate", d.certificate_date);
            o.date("SpecificDiseasesValidStartDate", d.valid_start_date);
            o.date("SpecificDiseasesValidEndDate", d.valid_end_date);
            o.num("SpecificDiseasesSelfPay", d.self_pay);
            o.end("SpecificDiseasesCertificateInfo");
        }
        o.end("SpecificDiseasesCertificateList");
    }
    for c in &r.info_consents {
        let p = c.item.prefix().to_owned();
        // An item name that came from JSON rather than XML might not be a valid element name.
        if !is_xml_name(&p) {
            continue;
        }
        o.code(&format!("{p}ConsFlg"), c.cons_flg);
        o.datetime(&format!("{p}ConsTime"), c.cons_time);
        o.datetime(&format!("{p}AvailableTime"), c.available_time);
    }
    o.end(tag);
}

fn is_xml_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
}

/// Escapes text content: the XML specials, and CR (which a reader would turn into LF).
fn escape_text(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
    out
}

/// Replaces characters that Shift_JIS cannot carry *unchanged* by character references.
/// (Windows-31J maps e.g. U+2212 MINUS SIGN to the bytes of U+FF0D and U+00A5 to a
/// backslash, so a name or address would come back different.) Only text content holds
/// non-ASCII characters here, where references are valid.
fn sjis_safe(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut buf = [0u8; 4];
    for c in s.chars() {
        if c.is_ascii() && c != '\\' && c != '~' {
            out.push(c);
            continue;
        }
        let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(c.encode_utf8(&mut buf));
        let back = encoding_rs::SHIFT_JIS.decode_without_bom_handling(&bytes).0;
        let mut chars = back.chars();
        if !unmappable && chars.next() == Some(c) && chars.next().is_none() {
            out.push(c);
        } else {
            out.push_str(&format!("&#x{:X};", c as u32));
        }
    }
    out
}
