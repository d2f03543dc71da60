//! `houmon-sync`: the sync client (ARCHITECTURE.md, *The relay is blind*, *Devices and trust*).
//! Local documents go to the blind relay as entries:
//! Automerge changes → compressed → padded → AEAD with the clinic content key → signed with
//! the device's Ed25519 key. Received entries are verified, decrypted and merged through the
//! store. Sync state (identity, cursor, offline queue) lives in the encrypted store database,
//! so the queue survives restarts and nothing is written in the clear.
//!
//! Gaps and withheld entries: each entry carries its author's heads for the document. After a
//! catch-up every announced head must be in the local document; if not, the document is
//! fetched again from the start, and a still-missing head is reported as withheld.
//!
//! Must never: send plaintext or a real document id to the relay, keep the content key or
//! the private key outside the encrypted store, or drop a local change before the relay has
//! acknowledged it.

pub mod seal;
mod session;
pub mod subscription;

use automerge::AutoCommit;
use houmon_keys::DeviceSigningKey;
use houmon_model::Actor;
use houmon_model::CoreError;
use houmon_store::Store;
use houmon_store::sync_state::{QueuedEntry, SyncIdentityRecord};
use houmon_sync_proto::http::{HttpError, RelayHttp, RequestSigner};
use houmon_sync_proto::*;
use rand::Rng;
use seal::ContentKey;
pub use session::Exchange;
use session::{Opened, Payload, Session, heads_bytes, heads_from};
use std::sync::Arc;
use std::time::Duration;
use zeroize::Zeroize;

/// Sync failures, each with a Japanese message saying what to do next.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("同期サーバー: {0}")]
    Relay(HttpError),
    #[error(transparent)]
    Core(#[from] CoreError),
    #[error("暗号処理に失敗しました")]
    Crypto,
    #[error("改ざんされたか壊れた同期データを受け取りました")]
    Tampered,
    #[error("この端末はまだ登録されていません")]
    NotEnrolled,
    #[error("登録コードの形式が正しくありません")]
    BadCode,
    #[error("端末の鍵が登録時と一致しません")]
    KeyMismatch,
    /// The relay gave no content key for a code that is not the clinic's founding code: the
    /// device would make a second key, so enrollment stops.
    #[error("登録コードに医療機関の鍵が含まれていません")]
    KeylessCode,
}

impl From<rusqlite::Error> for SyncError {
    fn from(e: rusqlite::Error) -> Self {
        SyncError::Core(CoreError::from(e))
    }
}

impl From<HttpError> for SyncError {
    fn from(e: HttpError) -> Self {
        SyncError::Relay(e)
    }
}

impl SyncError {
    /// (Japanese, English) for the UI.
    pub fn user_message(&self) -> (String, String) {
        match self {
            SyncError::Relay(HttpError::Relay { body, .. }) => (body.message.clone(), body.message_en.clone()),
            SyncError::Relay(_) => (
                "同期サーバーに接続できません。記録は端末に保存されており、接続が戻ると自動で送信されます。".into(),
                "Cannot reach the sync server. Records are saved on this device and will be sent when the connection returns.".into(),
            ),
            SyncError::Core(e) => {
                let m = e.user_message();
                (m.ja.into(), m.en.into())
            }
            SyncError::Crypto => (
                "暗号処理に失敗しました。アプリを再起動してください。".into(),
                "A cryptographic operation failed. Restart the app.".into(),
            ),
            SyncError::Tampered => (
                "壊れた同期データを受け取ったため、取り込みませんでした。管理者に連絡してください。".into(),
                "Corrupted sync data was received and not applied. Contact your administrator.".into(),
            ),
            SyncError::NotEnrolled => (
                "この端末は未登録です。管理者から登録コードを受け取り、登録してください。".into(),
                "This device is not enrolled. Get an enrollment code from your administrator.".into(),
            ),
            SyncError::BadCode => (
                "登録コードの形式が正しくありません。ハイフンを含めて26文字を入力してください。".into(),
                "The enrollment code is malformed. Enter all 26 characters.".into(),
            ),
            SyncError::KeylessCode => (
                "この登録コードには医療機関の鍵が含まれていません。事務所の管理用端末で発行したコードを入力してください。".into(),
                "This enrollment code does not carry the clinic's key. Enter a code issued by the clinic's admin device.".into(),
            ),
            SyncError::KeyMismatch => (
                "この端末の鍵が登録時のものと一致しません。管理者に連絡して端末を再登録してください。".into(),
                "This device's key does not match the one it enrolled with. Contact your administrator to enroll it again.".into(),
            ),
        }
    }

    /// Try again later (offline, relay busy or restarting)?
    pub fn retryable(&self) -> bool {
        matches!(self, SyncError::Relay(e) if e.retryable())
    }
}

pub type SyncResult<T> = std::result::Result<T, SyncError>;

/// What one sync round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub uploaded: usize,
    pub received: usize,
    pub applied_docs: usize,
    pub round_trips: usize,
    /// Entries refused: bad signature, unknown author, failed decryption.
    pub rejected: usize,
    /// Of those, entries and snapshots signed by a device of the clinic that this device cannot
    /// open (another content key). Added to the persisted [`SyncClient::unreadable`] count.
    pub unreadable: usize,
    /// Documents where a gap was found and filled by fetching the document again.
    pub gaps_repaired: Vec<String>,
    /// Documents whose announced heads are still missing: the relay withholds entries.
    pub withheld: Vec<String>,
    pub snapshots_uploaded: usize,
    /// Entries the relay refused for good in this round (too large), set aside.
    pub set_aside: usize,
    pub cursor: u64,
}

/// Upload a snapshot once this many entry bytes accumulated for a document since the last.
pub const SNAPSHOT_AFTER_BYTES: i64 = 256 * 1024;
/// Most entries and bytes per append request.
const APPEND_BATCH: usize = 500;
const APPEND_BYTES: usize = 4 << 20;

/// Signs relay requests as this device.
struct Signer(DeviceSigningKey, DeviceId);

impl RequestSigner for Signer {
    fn device(&self) -> DeviceId {
        self.1
    }
    fn sign(&self, msg: &[u8]) -> [u8; 64] {
        self.0.sign(msg)
    }
}

/// The relay over HTTP, signing as this device: the [`Exchange`] the app uses.
pub struct HttpExchange {
    http: RelayHttp,
    key: Arc<Signer>,
}

impl std::fmt::Debug for HttpExchange {
    // The signer holds the device key: never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpExchange").field("http", &self.http).finish_non_exhaustive()
    }
}

impl Exchange for HttpExchange {
    fn append(&mut self, req: &AppendRequest) -> Result<AppendResponse, HttpError> {
        self.http.post(&*self.key, PATH_APPEND, req)
    }
    fn pull(&mut self, req: &PullRequest) -> Result<PullResponse, HttpError> {
        self.http.post(&*self.key, PATH_PULL, req)
    }
    fn devices(&mut self) -> Result<DevicesResponse, HttpError> {
        self.http.get(&*self.key, PATH_DEVICES)
    }
    fn put_snapshot(&mut self, req: &PutSnapshotRequest) -> Result<bool, HttpError> {
        self.http.post(&*self.key, PATH_SNAPSHOT, req)
    }
}

/// Access to the store for the sync client's local phases. Network calls happen between
/// these, never inside one: the shell implements this by locking its service only for the
/// closure, so UI commands never wait on the network.
pub trait StoreAccess {
    /// Run `f` on the store. `Err(SyncError::NotEnrolled)` when the store is gone (wiped).
    fn with_store<R>(&mut self, f: impl FnOnce(&mut Store) -> R) -> SyncResult<R>;
}

impl StoreAccess for Store {
    fn with_store<R>(&mut self, f: impl FnOnce(&mut Store) -> R) -> SyncResult<R> {
        Ok(f(self))
    }
}

/// Retry delays: exponential with "equal jitter", so a thousand tablets coming back at once
/// do not retry in lockstep.
#[derive(Debug, Clone)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
    attempt: u32,
}

impl Backoff {
    pub fn new(base: Duration, cap: Duration) -> Self {
        Self { base, cap, attempt: 0 }
    }
    /// Next delay: half fixed, half random, of min(cap, base·2^attempt).
    pub fn next_delay(&mut self, rng: &mut impl Rng) -> Duration {
        let exp = self.base.saturating_mul(1u32 << self.attempt.min(16)).min(self.cap);
        self.attempt += 1;
        let half = exp / 2;
        half + half.mul_f64(rng.r#gen::<f64>())
    }
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
    /// Failed attempts since the last success.
    pub fn attempts(&self) -> u32 {
        self.attempt
    }
}

/// What enrollment at the relay gave this device: kept in the encrypted store (the content
/// key never leaves it), next to nothing secret outside it.
#[derive(Debug, Clone)]
pub struct SyncIdentity {
    pub relay: String,
    pub device: DeviceId,
    pub clinic: ClinicId,
    pub role: Role,
    pub public_key: [u8; 32],
    pub content: ContentKey,
}

impl SyncIdentity {
    /// Save in the store (the first thing an enrolled store holds).
    pub fn save(&self, store: &mut Store) -> SyncResult<()> {
        store.prepare_device_state()?;
        store.set_sync_identity(&SyncIdentityRecord {
            relay: self.relay.clone(),
            device: self.device.0,
            clinic: self.clinic.0,
            role: self.role.code().into(),
            public_key: self.public_key,
            content_key: *self.content.as_bytes(),
        })?;
        Ok(())
    }

    pub fn load(store: &mut Store) -> SyncResult<Option<Self>> {
        store.prepare_device_state()?;
        let Some(r) = store.sync_identity()? else { return Ok(None) };
        Ok(Some(Self {
            relay: r.relay.clone(),
            device: DeviceId(r.device),
            clinic: ClinicId(r.clinic),
            role: Role::parse(&r.role).unwrap_or(Role::Member),
            public_key: r.public_key,
            content: ContentKey::from_bytes(r.content_key),
        }))
    }

    /// The `houmon-model` id for this device (the same 16 bytes).
    pub fn model_device_id(&self) -> houmon_model::DeviceId {
        houmon_model::DeviceId(uuid::Uuid::from_bytes(self.device.0))
    }
}

/// Redeem a one-time code at the relay for `key` (network only; nothing is saved). Only the
/// founding device of a clinic (the relay says `founding`, and no key came) creates the clinic
/// content key; every later device receives it wrapped under the code. A keyless answer that
/// is not founding is [`SyncError::KeylessCode`]: never a second key (the relay refuses such
/// codes too; both sides check).
pub fn redeem_code(relay: &RelayHttp, key: &DeviceSigningKey, code: &str, label: &str) -> SyncResult<SyncIdentity> {
    let raw = enrollment::parse_code(code).ok_or(SyncError::BadCode)?;
    let code_auth = enrollment::code_auth(&raw);
    let public_key = key.public_key();
    let proof = key.sign(&enroll_signing_bytes(&code_auth, &public_key, label));
    let resp = relay.enroll(&EnrollRequest { code_auth, public_key, label: label.into(), proof })?;
    let mut wrap = enrollment::wrap_key(&raw);
    let content = content_key_from(&resp, &wrap);
    wrap.zeroize();
    Ok(SyncIdentity {
        relay: relay.base.clone(),
        device: resp.device,
        clinic: resp.clinic,
        role: resp.role,
        public_key,
        content: content?,
    })
}

/// The clinic content key an enrollment answer gives: unwrapped from the code, or new only
/// when the relay says the code founds the clinic.
fn content_key_from(resp: &EnrollResponse, wrap: &[u8; 32]) -> SyncResult<ContentKey> {
    match (&resp.wrapped_content_key, resp.founding) {
        (Some(w), _) => ContentKey::unwrap(w, wrap),
        (None, true) => ContentKey::random(),
        (None, false) => Err(SyncError::KeylessCode),
    }
}

/// An enrolled device's sync client.
pub struct SyncClient {
    http: RelayHttp,
    key: Arc<Signer>,
    role: Role,
    actor: Actor,
    session: Session,
    /// Plan the subscription from the local roster before each round (部分同期, the app on a
    /// clinician's tablet); off: whatever [`Self::set_subscription`] last stored.
    partial: bool,
    /// Publish this device's access history (`audit:‹device›`) with each round; on unless a
    /// test that counts one document's entries turns it off.
    publish_audit: bool,
}

impl std::fmt::Debug for SyncClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncClient").field("device", &self.key.1).field("clinic", &self.session.clinic).finish()
    }
}

impl SyncClient {
    /// Enroll with a one-time code, signing as `key` (the device's one key, see
    /// [`DeviceSigningKey`]), and save the identity in the store.
    pub fn enroll(
        store: &mut Store,
        relay: RelayHttp,
        key: DeviceSigningKey,
        code: &str,
        label: &str,
        actor: Actor,
    ) -> SyncResult<Self> {
        let identity = redeem_code(&relay, &key, code, label)?;
        identity.save(store)?;
        Self::from_identity(identity, Some(relay), key, actor)
    }

    /// A client for an identity saved at enrollment. The key must be the one enrolled.
    pub fn from_identity(
        identity: SyncIdentity,
        relay: Option<RelayHttp>,
        key: DeviceSigningKey,
        actor: Actor,
    ) -> SyncResult<Self> {
        if key.public_key() != identity.public_key {
            return Err(SyncError::KeyMismatch);
        }
        Ok(Self {
            http: relay.unwrap_or_else(|| RelayHttp::new(&identity.relay)),
            key: Arc::new(Signer(key, identity.device)),
            role: identity.role,
            actor,
            session: Session::new(identity.clinic, identity.content, identity.device),
            partial: false,
            publish_audit: true,
        })
    }

    /// Tests that count one document's entries: leave the access history out of the rounds.
    pub fn set_audit_publishing(&mut self, on: bool) {
        self.publish_audit = on;
    }

    /// Follow the visit plan (部分同期): before and after each round's catch-up the
    /// subscription is planned from the local roster ([`subscription::planned_subscription`]),
    /// and charts new to it are fetched from their start.
    pub fn with_partial_replication(mut self, on: bool) -> Self {
        self.partial = on;
        self
    }

    /// Load the identity saved at enrollment (`None`: not enrolled yet).
    pub fn open(
        store: &mut Store,
        relay: Option<RelayHttp>,
        key: DeviceSigningKey,
        actor: Actor,
    ) -> SyncResult<Option<Self>> {
        match SyncIdentity::load(store)? {
            None => Ok(None),
            Some(id) => Self::from_identity(id, relay, key, actor).map(Some),
        }
    }

    pub fn device(&self) -> DeviceId {
        self.key.1
    }
    pub fn clinic(&self) -> ClinicId {
        self.session.clinic
    }
    pub fn role(&self) -> Role {
        self.role
    }
    pub fn relay(&self) -> &RelayHttp {
        &self.http
    }
    pub fn content_key(&self) -> &ContentKey {
        &self.session.content
    }
    /// The relay over HTTP, as an [`Exchange`].
    pub fn exchange(&self) -> HttpExchange {
        HttpExchange { http: self.http.clone(), key: self.key.clone() }
    }

    /// Point at another relay address (it moved, or a test restarted it on a new port).
    pub fn set_relay(&mut self, relay: RelayHttp) {
        self.http = relay;
    }

    /// An admin device creates a one-time code for a new device (role member or admin).
    /// The clinic content key travels wrapped under the code; the relay cannot unwrap it.
    pub fn create_enrollment_code(&self, role: Role, valid_for_s: u32) -> SyncResult<String> {
        let raw: [u8; 16] = rand::random();
        let mut wrap = enrollment::wrap_key(&raw);
        let wrapped = self.session.content.wrap(&wrap);
        wrap.zeroize();
        let req = CreateCodeRequest {
            code_auth_hash: enrollment::code_auth_hash(&raw),
            role,
            wrapped_content_key: Some(wrapped?),
            valid_for_s,
        };
        let _: i64 = self.http.post(&*self.key, PATH_CODES, &req)?;
        Ok(enrollment::format_code(&raw))
    }

    /// The clinic's devices as the relay lists them (id, role, label, revoked).
    pub fn devices(&self) -> SyncResult<Vec<DeviceInfo>> {
        let r: DevicesResponse = self.http.get(&*self.key, PATH_DEVICES)?;
        Ok(r.devices)
    }

    /// Revoke a device at the relay (admin only). Effective at once.
    pub fn revoke(&self, device: DeviceId) -> SyncResult<()> {
        let _: bool = self.http.post(&*self.key, PATH_REVOKE, &RevokeRequest { device })?;
        Ok(())
    }

    /// Which documents this device replicates. `None`: all of the clinic's (back office,
    /// gateway). Persisted.
    ///
    /// The catch-up cursor is shared by all subscribed documents, so a document new to a
    /// partial subscription has its past before the cursor: it is fetched from the start at
    /// the next pull (`sync.backfill`). Widening to the whole clinic starts the cursor over.
    /// Returns whether anything waits to be fetched.
    pub fn set_subscription(&self, store: &mut Store, docs: Option<&[String]>) -> SyncResult<bool> {
        store.prepare_device_state()?;
        let before = Self::subscription(store)?;
        let was_set = store.local_value("sync.subscription")?.is_some();
        let mut backfill = Self::backfill(store)?;
        match (&before, docs) {
            (Some(b), Some(d)) if was_set => backfill.extend(d.iter().filter(|x| !b.contains(x)).cloned()),
            (Some(_), None) if was_set => Self::set_cursor(store, 0)?,
            _ => {}
        }
        backfill.sort();
        backfill.dedup();
        let v = match docs {
            None => b"*".to_vec(),
            Some(d) => d.join("\n").into_bytes(),
        };
        store.set_local_value("sync.subscription", &v)?;
        store.set_local_value("sync.backfill", backfill.join("\n").as_bytes())?;
        Ok(!backfill.is_empty())
    }

    fn backfill(store: &mut Store) -> SyncResult<Vec<String>> {
        Ok(store
            .local_value("sync.backfill")?
            .map(|v| String::from_utf8_lossy(&v).split('\n').filter(|s| !s.is_empty()).map(String::from).collect())
            .unwrap_or_default())
    }

    /// Plan the subscription from the local roster (部分同期); whether charts wait to be fetched.
    fn plan_subscription(&self, store: &mut Store) -> SyncResult<bool> {
        let today = houmon_model::jst_date(&chrono::Utc::now());
        let docs = subscription::planned_subscription(store, self.role, today)?;
        if let Some(keep) = &docs {
            self.evict_charts_outside(store, keep)?;
        }
        if Self::subscription(store)? == docs && store.local_value("sync.subscription")?.is_some() {
            return Ok(!Self::backfill(store)?.is_empty());
        }
        self.set_subscription(store, docs.as_deref())
    }

    /// Charts outside a partial subscription leave the device once everything written to them
    /// here has been queued for the relay (and the queue no longer holds them): a lost tablet
    /// carries only its staff's patients, and nothing unsent is ever dropped. A chart someone
    /// here opened or changed in the last [`subscription::WINDOW_BACK_DAYS`] days stays (a
    /// patient registered on the tablet, a chart looked up on purpose).
    fn evict_charts_outside(&self, store: &mut Store, keep: &[String]) -> SyncResult<()> {
        let now = chrono::Utc::now();
        let recent = now - chrono::Duration::days(subscription::WINDOW_BACK_DAYS);
        for (doc_id, kind) in store.document_ids()? {
            if kind != houmon_store::DocKind::Chart || keep.contains(&doc_id) {
                continue;
            }
            if store.chart_used_here_since(&doc_id, recent)? {
                continue;
            }
            let heads = store.doc_heads(&doc_id)?;
            let sent = store.sync_sent_heads(&doc_id)?;
            if sent.as_deref() != Some(heads_bytes(&heads).as_slice()) {
                continue;
            }
            let opaque = self.session.content.opaque_doc_id(&doc_id);
            store.evict_chart(&self.actor, &doc_id, &opaque.0, now)?;
        }
        Ok(())
    }

    fn subscription(store: &mut Store) -> SyncResult<Option<Vec<String>>> {
        Ok(match store.local_value("sync.subscription")? {
            None => None,
            Some(v) if v == b"*" => None,
            Some(v) => {
                Some(String::from_utf8_lossy(&v).split('\n').filter(|s| !s.is_empty()).map(String::from).collect())
            }
        })
    }

    /// The documents a staff member's device needs (部分同期): the clinic document, the given
    /// roster months, and the charts of the patients planned in them.
    pub fn subscription_for(months: &[&str], patients: &[houmon_model::PatientId]) -> Vec<String> {
        let mut v = vec![houmon_store::CLINIC_DOC_ID.to_string()];
        v.extend(months.iter().map(|m| houmon_store::roster_doc_id(m)));
        v.extend(patients.iter().map(|p| houmon_store::chart_doc_id(*p)));
        v
    }

    pub fn cursor(store: &mut Store) -> SyncResult<u64> {
        store.prepare_device_state()?;
        let v = store.local_value("sync.cursor")?;
        Ok(v.and_then(|v| <[u8; 8]>::try_from(v.as_slice()).ok()).map(u64::from_le_bytes).unwrap_or(0))
    }

    fn set_cursor(store: &mut Store, c: u64) -> SyncResult<()> {
        store.set_local_value("sync.cursor", &c.to_le_bytes())?;
        Ok(())
    }

    /// Entries waiting for the relay (the offline queue).
    pub fn pending(store: &mut Store) -> SyncResult<usize> {
        store.prepare_device_state()?;
        Ok(store.sync_outbox_len()?)
    }

    fn sign_entry(&self, doc: &DocId, entry_id: &EntryId, ct: &[u8]) -> [u8; 64] {
        self.key.sign(&entry_signing_bytes(&self.session.clinic, doc, &self.key.1, entry_id, ct))
    }

    /// Turn every local change not yet queued into a sealed, signed entry in the offline
    /// queue. Works offline; the queue and the "sent" heads move in one transaction.
    pub fn enqueue_local_changes(&self, store: &mut Store) -> SyncResult<usize> {
        store.prepare_device_state()?;
        // This device's access history goes out with everything else (監査ログ).
        if self.publish_audit {
            let id = houmon_store::audit_doc_id(&self.key.1.to_hex());
            store.set_local_value("sync.audit_doc", &self.session.content.opaque_doc_id(&id).0)?;
            store.publish_audit(&self.key.1.to_hex())?;
        }
        let docs = store.document_ids()?;
        let mut n = 0;
        for (doc_id, _) in docs {
            let heads = store.doc_heads(&doc_id)?;
            let sent = store.sync_sent_heads(&doc_id)?;
            let sent_heads = sent.as_deref().map(heads_from).unwrap_or_default();
            if heads_bytes(&heads) == heads_bytes(&sent_heads) {
                continue;
            }
            let changes = store.change_list_since(&doc_id, &sent_heads)?;
            let mut chunks = session::pack_changes(&sent_heads, changes, session::ENTRY_CHANGE_BYTES);
            // The last chunk ends at the document's heads: what "sent" is compared with.
            if let Some(last) = chunks.last_mut() {
                last.heads = heads.clone();
            }
            let opaque = self.session.content.opaque_doc_id(&doc_id);
            for c in chunks {
                let payload = Payload {
                    doc_id: doc_id.clone(),
                    heads: c.heads.iter().map(|h| h.0).collect(),
                    changes: c.changes,
                };
                let ct = self.session.content.seal(&self.session.clinic, &opaque, &encode(&payload))?;
                let entry_id = EntryId(rand::random());
                let signature = self.sign_entry(&opaque, &entry_id, &ct);
                let entry = QueuedEntry { doc: opaque.0, entry_id: entry_id.0, signature, body: ct };
                // Each chunk moves the sent heads with it: after a crash the rest is queued again.
                store.queue_sync_entry(&doc_id, &heads_bytes(&c.heads), &entry)?;
                n += 1;
            }
        }
        Ok(n)
    }

    /// Send the offline queue; rows leave it only once the relay acknowledged them (durably).
    pub fn push<A: StoreAccess + ?Sized>(
        &self,
        s: &mut A,
        x: &mut impl Exchange,
        report: &mut SyncReport,
    ) -> SyncResult<()> {
        // After a refusal of one entry in a batch, send one at a time to find it.
        let mut batch = APPEND_BATCH;
        loop {
            let rows = s.with_store(|st| st.sync_outbox_batch(batch, APPEND_BYTES))??;
            let Some((req, last, n)) = session::append_request(rows) else { return Ok(()) };
            report.round_trips += 1;
            match x.append(&req) {
                Ok(_) => {
                    s.with_store(|st| st.sync_outbox_ack(last))??;
                    report.uploaded += n;
                }
                Err(e) => match session::refused_for_good(&e) {
                    Some(_) if n > 1 => batch = 1,
                    Some(code) => {
                        // Never retried, so it must not block the queue behind it.
                        s.with_store(|st| st.sync_outbox_set_aside(last, code))??;
                        report.set_aside += 1;
                        batch = APPEND_BATCH;
                    }
                    None => return Err(e.into()),
                },
            }
        }
    }

    /// Entries the relay refused for good (too large), set aside: the user sees them as unsent.
    pub fn set_aside(store: &mut Store) -> SyncResult<usize> {
        store.prepare_device_state()?;
        Ok(store.sync_set_aside_len()?)
    }

    /// The relay's device list, for checking signatures (the only network call verification
    /// needs, made by the driver before opening entries again).
    fn refresh_devices(&mut self, x: &mut impl Exchange) -> SyncResult<()> {
        let r = x.devices()?;
        self.session.set_devices(r);
        Ok(())
    }

    /// One pull request: network, then verification (from the keys known; entries from an
    /// unknown device are held, and opened again once the device list is refreshed), then one
    /// store phase that merges and moves the cursor.
    fn pull_once<A: StoreAccess + ?Sized>(
        &mut self,
        s: &mut A,
        x: &mut impl Exchange,
        req: &PullRequest,
        report: &mut SyncReport,
        move_cursor: bool,
    ) -> SyncResult<(PullResponse, Vec<String>)> {
        report.round_trips += 1;
        let resp = x.pull(req)?;
        let mut opened = self.session.open_pull(&resp, req.after > 0);
        if opened.iter().any(|o| matches!(o, Opened::Held)) {
            self.refresh_devices(x)?;
            self.session.reopen_held(&resp, &mut opened);
        }
        let unreadable_before = report.unreadable;
        let payloads = session::accept(&resp, opened, report);
        let unreadable = report.unreadable - unreadable_before;
        let cursor = resp.cursor;
        let missing = s.with_store(|st| {
            if unreadable > 0 && move_cursor {
                // Persisted with the cursor that moves past them (a gap refetch does not count
                // them again): they are never read again.
                Self::add_unreadable(st, unreadable as u64)?;
            }
            let missing = session::apply(&self.actor, st, payloads, report)?;
            if move_cursor {
                Self::set_cursor(st, cursor)?;
            }
            Ok::<_, SyncError>(missing)
        })??;
        Ok((resp, missing))
    }

    /// Catch up: "everything after my cursor" for my subscription, in as few requests as the
    /// answer size allows (one for a day offline), then repair gaps.
    pub fn pull<A: StoreAccess + ?Sized>(
        &mut self,
        s: &mut A,
        x: &mut impl Exchange,
        report: &mut SyncReport,
    ) -> SyncResult<()> {
        let (sub, mut cursor) =
            s.with_store(|st| Ok::<_, SyncError>((Self::subscription(st)?, Self::cursor(st)?)))??;
        let docs = sub.map(|d| d.iter().map(|id| self.session.content.opaque_doc_id(id)).collect::<Vec<_>>());
        let mut missing_all: Vec<String> = Vec::new();
        loop {
            let req = session::catch_up_request(cursor, docs.clone());
            let (resp, missing) = self.pull_once(s, x, &req, report, true)?;
            missing_all.extend(missing);
            cursor = resp.cursor;
            if !resp.more {
                break;
            }
        }
        report.cursor = cursor;
        // Documents new to the subscription: everything they have, from the start, once.
        let backfill = s.with_store(Self::backfill)??;
        if !backfill.is_empty() {
            let docs: Vec<_> = backfill.iter().map(|id| self.session.content.opaque_doc_id(id)).collect();
            let mut after = 0;
            loop {
                let req = session::catch_up_request(after, Some(docs.clone()));
                let (resp, missing) = self.pull_once(s, x, &req, report, false)?;
                missing_all.extend(missing);
                after = resp.cursor;
                if !resp.more {
                    break;
                }
            }
            s.with_store(|st| st.set_local_value("sync.backfill", b""))??;
        }
        // Documents still missing heads from an earlier round are checked again until the
        // relay hands over what it withheld (the cursor has moved past those entries).
        let suspects = s.with_store(Self::suspects)??;
        for doc_id in session::to_refetch(missing_all, suspects) {
            let req = self.session.repair_request(&doc_id);
            let applied = report.applied_docs;
            let (_, still) = self.pull_once(s, x, &req, report, false)?;
            session::repair_outcome(doc_id, &still, applied, report);
        }
        let withheld = report.withheld.clone();
        s.with_store(|st| Self::set_suspects(st, &withheld))??;
        Ok(())
    }

    /// Entries from other devices of the clinic this device could not open, since enrollment
    /// (persisted). Above zero the device holds another content key than the clinic's: the
    /// header shows an error, never 最新, until the device is enrolled again.
    pub fn unreadable(store: &mut Store) -> SyncResult<u64> {
        store.prepare_device_state()?;
        let v = store.local_value("sync.unreadable")?;
        Ok(v.and_then(|v| <[u8; 8]>::try_from(v.as_slice()).ok()).map(u64::from_le_bytes).unwrap_or(0))
    }

    fn add_unreadable(store: &mut Store, n: u64) -> SyncResult<()> {
        let total = Self::unreadable(store)?.saturating_add(n);
        store.set_local_value("sync.unreadable", &total.to_le_bytes())?;
        Ok(())
    }

    /// Documents whose announced heads were still missing after a refetch (persisted).
    pub fn suspects(store: &mut Store) -> SyncResult<Vec<String>> {
        store.prepare_device_state()?;
        let v = store.local_value("sync.suspect")?;
        Ok(v.map(|v| String::from_utf8_lossy(&v).split('\n').filter(|s| !s.is_empty()).map(String::from).collect())
            .unwrap_or_default())
    }

    fn set_suspects(store: &mut Store, docs: &[String]) -> SyncResult<()> {
        store.set_local_value("sync.suspect", docs.join("\n").as_bytes())?;
        Ok(())
    }

    /// Upload encrypted snapshots of documents whose entries outgrew [`SNAPSHOT_AFTER_BYTES`],
    /// so new devices download one compressed document instead of the whole log.
    pub fn upload_snapshots<A: StoreAccess + ?Sized>(
        &self,
        s: &mut A,
        x: &mut impl Exchange,
        report: &mut SyncReport,
    ) -> SyncResult<()> {
        type Due = (u64, Option<Vec<String>>, Vec<String>);
        let (cursor, sub, due): Due = s.with_store(|st| {
            if Self::pending(st)? > 0 {
                // The snapshot must not cover entries the relay has not got.
                return Ok::<Due, SyncError>((0, None, Vec::new()));
            }
            Ok((Self::cursor(st)?, Self::subscription(st)?, st.sync_docs_due_snapshot(SNAPSHOT_AFTER_BYTES)?))
        })??;
        for doc_id in due {
            if sub.as_ref().is_some_and(|s| !s.contains(&doc_id)) {
                continue;
            }
            let all = s.with_store(|st| st.changes_since(&doc_id, &[]))??;
            let mut full = AutoCommit::load(&all).map_err(CoreError::from)?;
            let heads = full.get_heads();
            let payload =
                Payload { doc_id: doc_id.clone(), heads: heads.iter().map(|h| h.0).collect(), changes: full.save() };
            let opaque = self.session.content.opaque_doc_id(&doc_id);
            let ct = self.session.content.seal(&self.session.clinic, &opaque, &encode(&payload))?;
            let entry_id = EntryId(rand::random());
            let sig = self.key.sign(&snapshot_signing_bytes(
                &self.session.clinic,
                &opaque,
                &self.key.1,
                &entry_id,
                cursor,
                &ct,
            ));
            let req = PutSnapshotRequest { doc: opaque, covers_seq: cursor, entry_id, signature: sig, ciphertext: ct };
            report.round_trips += 1;
            x.put_snapshot(&req)?;
            s.with_store(|st| st.sync_snapshot_uploaded(&doc_id))??;
            report.snapshots_uploaded += 1;
        }
        Ok(())
    }

    /// One sync round with the relay over HTTP. The store may sit behind a lock
    /// ([`StoreAccess`]), taken only for the local phases.
    pub fn sync_once<A: StoreAccess + ?Sized>(&mut self, s: &mut A) -> SyncResult<SyncReport> {
        self.sync_once_with(s, &mut self.exchange())
    }

    /// One sync round over any [`Exchange`] (the HTTP relay in the app, an in-memory log in
    /// the session tests): queue local changes, send the queue, catch up, compact.
    pub fn sync_once_with<A: StoreAccess + ?Sized>(
        &mut self,
        s: &mut A,
        x: &mut impl Exchange,
    ) -> SyncResult<SyncReport> {
        let mut report = SyncReport::default();
        s.with_store(|st| self.enqueue_local_changes(st))??;
        self.push(s, x, &mut report)?;
        if self.partial {
            s.with_store(|st| self.plan_subscription(st))??;
        }
        self.pull(s, x, &mut report)?;
        // The catch-up may have brought plan changes (a reassigned visit): their charts now.
        if self.partial && s.with_store(|st| self.plan_subscription(st))?? {
            self.pull(s, x, &mut report)?;
        }
        // Catch-up may have brought changes the queue should not re-send; anything local
        // written meanwhile is queued next round.
        self.upload_snapshots(s, x, &mut report)?;
        Ok(report)
    }

    /// Sync, retrying retryable failures with backoff until `deadline` passes. The jitter
    /// comes from `rng`: a seeded one makes a test's run replayable.
    pub fn sync_with_retry(
        &mut self,
        store: &mut Store,
        deadline: Duration,
        backoff: &mut Backoff,
        rng: &mut impl Rng,
    ) -> SyncResult<SyncReport> {
        let start = std::time::Instant::now();
        loop {
            match self.sync_once(store) {
                Ok(r) => {
                    backoff.reset();
                    return Ok(r);
                }
                Err(e) if e.retryable() && start.elapsed() < deadline => {
                    std::thread::sleep(backoff.next_delay(rng).min(deadline.saturating_sub(start.elapsed())));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Wait for the relay to push something for this device (WebSocket), then catch up.
    /// Returns after one push or when the connection ends.
    pub fn wait_for_push<A: StoreAccess + ?Sized>(&mut self, s: &mut A) -> SyncResult<Option<SyncReport>> {
        let (sub, cursor) = s.with_store(|st| Ok::<_, SyncError>((Self::subscription(st)?, Self::cursor(st)?)))??;
        let docs = sub.map(|d| d.iter().map(|id| self.session.content.opaque_doc_id(id)).collect::<Vec<_>>());
        let mut sock = self.http.open_push(&*self.key, &WsClient::Subscribe { after: cursor, docs })?;
        loop {
            match sock.next_message() {
                Some(WsServer::Entries { entries, .. }) if entries.is_empty() => continue,
                Some(WsServer::Entries { .. }) | Some(WsServer::PullNeeded) => {
                    let mut report = SyncReport::default();
                    self.pull(s, &mut self.exchange(), &mut report)?;
                    return Ok(Some(report));
                }
                Some(WsServer::Revoked) => {
                    return Err(SyncError::Relay(HttpError::Relay {
                        status: 403,
                        body: ErrorBody::new(ErrorCode::Revoked, ""),
                    }));
                }
                None => return Ok(None),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use houmon_store::DocKind;
    use session::kind_of;

    #[test]
    fn backoff_grows_to_the_cap_with_jitter() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
        let mut rng = rand::thread_rng();
        let d: Vec<Duration> = (0..10).map(|_| b.next_delay(&mut rng)).collect();
        assert!(d[0] >= Duration::from_millis(50) && d[0] <= Duration::from_millis(100));
        assert!(d[9] >= Duration::from_millis(2500) && d[9] <= Duration::from_secs(5));
        let mut b2 = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
        let same = (0..10).filter(|i| b2.next_delay(&mut rng) == d[*i]).count();
        assert!(same < 10, "jittered");
    }

    #[test]
    fn backoff_jitter_replays_from_a_seed() {
        use rand::SeedableRng;
        let run = |seed| {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
            (0..10).map(|_| b.next_delay(&mut rng)).collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }

    #[test]
    fn only_a_founding_answer_makes_a_content_key() {
        let wrap = [5u8; 32];
        let key = ContentKey::from_bytes([7; 32]);
        let resp = |wrapped: Option<Vec<u8>>, founding| EnrollResponse {
            clinic: ClinicId([1; 16]),
            device: DeviceId([2; 16]),
            role: Role::Member,
            wrapped_content_key: wrapped,
            founding,
        };
        // A keyless answer that is not founding: refused, never a second key.
        let Err(e) = content_key_from(&resp(None, false), &wrap) else {
            panic!("a keyless non-founding answer must be refused")
        };
        assert!(matches!(e, SyncError::KeylessCode));
        assert!(e.user_message().0.contains("管理用端末"));
        // Control: the founding answer makes a key; a wrapped key is unwrapped as it was.
        assert!(content_key_from(&resp(None, true), &wrap).is_ok());
        let wrapped = key.wrap(&wrap).expect("wrap");
        let got = content_key_from(&resp(Some(wrapped), false), &wrap).expect("unwrap");
        assert_eq!(got.as_bytes(), key.as_bytes());
    }

    #[test]
    fn document_kinds_come_from_ids() {
        assert_eq!(kind_of("chart:x"), Some(DocKind::Chart));
        assert_eq!(kind_of("roster:2026-11"), Some(DocKind::Roster));
        assert_eq!(kind_of("clinic"), Some(DocKind::Clinic));
        assert_eq!(kind_of("other"), None);
    }
}
