//! `houmon-sync-proto`: the wire-protocol types shared by `houmon-relay` and the sync client
//! (`houmon-sync`), so neither depends on the other; with the `http` feature also the clients'
//! blocking HTTP/WebSocket transport (`http`) and relay certificate pinning (`pinning`).
//! Must never: contain plaintext document types or parse document contents (ARCHITECTURE.md,
//! *The relay is blind*).
//!
//! Bodies are [postcard] (compact binary serde); errors are JSON [`ErrorBody`] so they can be
//! read by humans and shown to users. Every request but enrollment carries the four
//! `x-houmon-*` headers: the device id, the time, a fresh nonce and an Ed25519 signature over
//! [`request_signing_bytes`]. Entries carry their author's signature over
//! [`entry_signing_bytes`]; every receiving device checks it. [`enrollment`] fixes how a
//! one-time code is written and what is derived from it.

use serde::{Deserialize, Serialize};

/// Version of this protocol, in every path (`/v1/...`).
pub const PROTOCOL_VERSION: u32 = 1;
/// Content type of postcard bodies.
pub const CONTENT_TYPE: &str = "application/x-houmon-v1";

pub const HEADER_DEVICE: &str = "x-houmon-device";
pub const HEADER_TIME: &str = "x-houmon-time";
pub const HEADER_NONCE: &str = "x-houmon-nonce";
pub const HEADER_SIGNATURE: &str = "x-houmon-signature";

/// How far a request's time may be from the relay's clock (replay window).
pub const MAX_CLOCK_SKEW_MS: i64 = 5 * 60 * 1000;

/// The relay's default limit on one entry's ciphertext (`houmon-relay serve --max-entry-bytes`);
/// clients split their changes to stay below it.
pub const MAX_ENTRY_BYTES: usize = 1 << 20;

pub const PATH_HEALTH: &str = "/v1/health";
pub const PATH_ENROLL: &str = "/v1/enroll";
pub const PATH_APPEND: &str = "/v1/append";
pub const PATH_PULL: &str = "/v1/pull";
pub const PATH_SNAPSHOT: &str = "/v1/snapshot";
pub const PATH_DEVICES: &str = "/v1/devices";
pub const PATH_CODES: &str = "/v1/admin/codes";
pub const PATH_REVOKE: &str = "/v1/admin/revoke";
pub const PATH_WS: &str = "/v1/ws";

macro_rules! id16 {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub struct $name(pub [u8; 16]);
        impl $name {
            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }
            pub fn from_hex(s: &str) -> Option<Self> {
                let mut b = [0u8; 16];
                hex::decode_to_slice(s.trim(), &mut b).ok()?;
                Some(Self(b))
            }
        }
        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}({})", stringify!($name), self.to_hex())
            }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.to_hex())
            }
        }
    };
}

id16!(
    /// A clinic (tenant). Random, assigned by the relay.
    ClinicId
);
id16!(
    /// An enrolled device. Random, assigned by the relay at enrollment.
    DeviceId
);
id16!(
    /// Opaque document id: a keyed hash of the real id, so the relay cannot tell which
    /// patient a document belongs to.
    DocId
);
id16!(
    /// Entry id chosen by the author; the same id twice is one entry (idempotent append).
    EntryId
);

/// What a device may do. 管理者 devices (back office, MDM) create codes and revoke devices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    Member,
    Admin,
}

impl Role {
    pub fn code(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::Admin => "admin",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "member" => Some(Role::Member),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// An entry as uploaded: opaque ciphertext plus the author's signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewEntry {
    pub doc: DocId,
    pub entry_id: EntryId,
    #[serde(with = "sig_bytes")]
    pub signature: [u8; 64],
    pub ciphertext: Vec<u8>,
}

/// An entry as stored and served: `seq` is the clinic-wide position (the cursor).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub seq: u64,
    pub doc: DocId,
    pub device: DeviceId,
    pub entry_id: EntryId,
    #[serde(with = "sig_bytes")]
    pub signature: [u8; 64],
    pub ciphertext: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendRequest {
    pub entries: Vec<NewEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Appended {
    pub entry_id: EntryId,
    pub seq: u64,
    /// True when the entry was already there (a retry): nothing was added.
    pub duplicate: bool,
}

/// Sent only after the entries are durable (committed with `synchronous=FULL`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendResponse {
    pub results: Vec<Appended>,
}

/// "Everything after cursor `after`" for the documents a device subscribes to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullRequest {
    pub after: u64,
    /// `None`: every document of the clinic (the back office). Otherwise partial replication.
    pub docs: Option<Vec<DocId>>,
    /// Answer size budget; the relay caps it. `more` says whether to ask again.
    pub max_bytes: u32,
    /// Include the newest snapshot of each document and skip the entries it covers
    /// (new-device bootstrap).
    pub with_snapshots: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullResponse {
    pub entries: Vec<Entry>,
    pub snapshots: Vec<Snapshot>,
    /// Pass as `after` next time. Covers every entry up to here, subscribed or not.
    pub cursor: u64,
    pub more: bool,
}

/// A client-made, encrypted snapshot of a document covering the clinic log up to `covers_seq`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub doc: DocId,
    pub covers_seq: u64,
    pub device: DeviceId,
    pub entry_id: EntryId,
    #[serde(with = "sig_bytes")]
    pub signature: [u8; 64],
    pub ciphertext: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PutSnapshotRequest {
    pub doc: DocId,
    pub covers_seq: u64,
    pub entry_id: EntryId,
    #[serde(with = "sig_bytes")]
    pub signature: [u8; 64],
    pub ciphertext: Vec<u8>,
}

/// Enrollment with a one-time code. The code never reaches the relay: the device sends
/// `code_auth` (derived from the code); the relay stores only its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollRequest {
    pub code_auth: [u8; 32],
    pub public_key: [u8; 32],
    pub label: String,
    /// Signature by the new key over [`enroll_signing_bytes`]: proves possession.
    #[serde(with = "sig_bytes")]
    pub proof: [u8; 64],
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollResponse {
    pub clinic: ClinicId,
    pub device: DeviceId,
    pub role: Role,
    /// The clinic content key wrapped by the code's wrap key (absent only for a founding
    /// code: the clinic's first device, which creates the content key).
    pub wrapped_content_key: Option<Vec<u8>>,
    /// This was the clinic's founding code: no device held a content key before this one. A
    /// client makes a content key only when this is true (never a second key for a clinic).
    pub founding: bool,
}

/// An admin device creates a one-time code (管理者が発行する登録コード).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateCodeRequest {
    pub code_auth_hash: [u8; 32],
    pub role: Role,
    pub wrapped_content_key: Option<Vec<u8>>,
    pub valid_for_s: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokeRequest {
    pub device: DeviceId,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceInfo {
    pub device: DeviceId,
    pub public_key: [u8; 32],
    pub role: Role,
    pub label: String,
    pub revoked: bool,
    /// When the device last caught up (its last pull), to the minute; `None` before its first.
    pub last_seen_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevicesResponse {
    pub devices: Vec<DeviceInfo>,
}

/// Client → relay on the WebSocket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum WsClient {
    /// Push entries after `after` for these documents (`None`: all of the clinic's).
    Subscribe { after: u64, docs: Option<Vec<DocId>> },
}

/// Relay → client on the WebSocket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum WsServer {
    /// New entries, in seq order; `cursor` is the clinic head they bring the device to.
    Entries { entries: Vec<Entry>, cursor: u64 },
    /// The device fell behind the push buffer: pull from its cursor.
    PullNeeded,
    /// The device was revoked; the connection closes.
    Revoked,
}

/// Machine-readable error codes, each with a Japanese and an English message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "RelayErrorCode"))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    BadRequest,
    Unauthenticated,
    ClockSkew,
    Replay,
    Revoked,
    Forbidden,
    NotFound,
    EntryTooLarge,
    BodyTooLarge,
    TooManyRequests,
    TooManyConnections,
    InvalidCode,
    /// A code without the clinic content key, for a clinic that already has devices (a
    /// founding code can only found a clinic once).
    KeylessCode,
    ShuttingDown,
    Internal,
}

impl ErrorCode {
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::BadRequest => 400,
            ErrorCode::Unauthenticated | ErrorCode::ClockSkew | ErrorCode::Replay | ErrorCode::InvalidCode => 401,
            ErrorCode::Revoked | ErrorCode::Forbidden => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::KeylessCode => 409,
            ErrorCode::EntryTooLarge | ErrorCode::BodyTooLarge => 413,
            ErrorCode::TooManyRequests => 429,
            ErrorCode::TooManyConnections | ErrorCode::ShuttingDown => 503,
            ErrorCode::Internal => 500,
        }
    }

    /// (Japanese, English): what happened and what to do next.
    pub fn messages(self) -> (&'static str, &'static str) {
        match self {
            ErrorCode::BadRequest => (
                "同期データの形式が正しくありません。アプリを最新版に更新してください。",
                "The sync request is malformed. Update the app to the latest version.",
            ),
            ErrorCode::Unauthenticated => (
                "この端末を確認できませんでした。端末の登録をやり直してください。",
                "This device could not be verified. Enroll the device again.",
            ),
            ErrorCode::ClockSkew => (
                "端末の時刻が大きくずれています。日付と時刻の設定を自動にしてください。",
                "The device clock is far off. Set date and time to automatic.",
            ),
            ErrorCode::Replay => (
                "同じ要求が二度届きました。自動で再送します。",
                "The same request arrived twice. It will be resent automatically.",
            ),
            ErrorCode::Revoked => (
                "この端末は利用停止されています。管理者に連絡してください。",
                "This device has been revoked. Contact your administrator.",
            ),
            ErrorCode::Forbidden => {
                ("この操作は管理者の端末だけが行えます。", "Only an administrator device may do this.")
            }
            ErrorCode::NotFound => ("見つかりませんでした。", "Not found."),
            ErrorCode::EntryTooLarge => (
                "1件の変更が大きすぎます。添付を分けて保存してください。",
                "A single change is too large. Split attachments and save again.",
            ),
            ErrorCode::BodyTooLarge => (
                "送信データが大きすぎます。自動で分割して再送します。",
                "The upload is too large. It will be split and resent automatically.",
            ),
            ErrorCode::TooManyRequests => (
                "要求が多すぎます。しばらく待ってから自動で再試行します。",
                "Too many requests. It will retry automatically after a short wait.",
            ),
            ErrorCode::TooManyConnections => (
                "同期サーバーが混み合っています。しばらくして自動で再接続します。",
                "The sync server is busy. It will reconnect automatically shortly.",
            ),
            ErrorCode::InvalidCode => (
                "登録コードが無効か、期限切れか、使用済みです。管理者に新しいコードを依頼してください。",
                "The enrollment code is invalid, expired or already used. Ask your administrator for a new one.",
            ),
            ErrorCode::KeylessCode => (
                "この登録コードには医療機関の鍵が含まれていません。この医療機関にはすでに登録済みの端末があります。事務所の管理用端末(管理画面、または houmon-clinic code create)で発行したコードを入力してください。",
                "This enrollment code does not carry the clinic's key, and the clinic already has devices. Enter a code issued by the clinic's admin device (back office, or houmon-clinic code create).",
            ),
            ErrorCode::ShuttingDown => (
                "同期サーバーが再起動中です。自動で再接続します。",
                "The sync server is restarting. It will reconnect automatically.",
            ),
            ErrorCode::Internal => (
                "同期サーバーで問題が起きました。データは端末に保存されています。後で自動で再試行します。",
                "The sync server had a problem. Your data is kept on this device and will be retried.",
            ),
        }
    }

    /// Worth retrying later with the same request (after backoff)?
    pub fn retryable(self) -> bool {
        matches!(
            self,
            ErrorCode::TooManyRequests
                | ErrorCode::TooManyConnections
                | ErrorCode::ShuttingDown
                | ErrorCode::Internal
                | ErrorCode::Replay
                | ErrorCode::ClockSkew
        )
    }
}

/// JSON error body of every non-2xx answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: ErrorCode,
    pub message: String,
    pub message_en: String,
    /// Extra detail for support (never contains document contents).
    #[serde(default)]
    pub detail: String,
}

impl ErrorBody {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        let (ja, en) = code.messages();
        Self { code, message: ja.into(), message_en: en.into(), detail: detail.into() }
    }
}

/// Bytes a device signs for each request (domain-separated; the body is covered whole).
pub fn request_signing_bytes(
    method: &str,
    path: &str,
    device: &DeviceId,
    time_ms: i64,
    nonce: &[u8; 16],
    body: &[u8],
) -> Vec<u8> {
    let mut v = Vec::with_capacity(64 + path.len() + body.len());
    v.extend_from_slice(b"houmon-request-v1\0");
    v.extend_from_slice(method.as_bytes());
    v.push(0);
    v.extend_from_slice(path.as_bytes());
    v.push(0);
    v.extend_from_slice(&device.0);
    v.extend_from_slice(&time_ms.to_be_bytes());
    v.extend_from_slice(nonce);
    v.extend_from_slice(body);
    v
}

/// Bytes an author signs for an entry: binds the ciphertext to its clinic, document, author
/// and id so the relay cannot move it elsewhere.
pub fn entry_signing_bytes(
    clinic: &ClinicId,
    doc: &DocId,
    device: &DeviceId,
    entry_id: &EntryId,
    ciphertext: &[u8],
) -> Vec<u8> {
    let mut v = Vec::with_capacity(96 + ciphertext.len());
    v.extend_from_slice(b"houmon-entry-v1\0");
    v.extend_from_slice(&clinic.0);
    v.extend_from_slice(&doc.0);
    v.extend_from_slice(&device.0);
    v.extend_from_slice(&entry_id.0);
    v.extend_from_slice(ciphertext);
    v
}

/// Bytes an author signs for a snapshot (also binds `covers_seq`).
pub fn snapshot_signing_bytes(
    clinic: &ClinicId,
    doc: &DocId,
    device: &DeviceId,
    entry_id: &EntryId,
    covers_seq: u64,
    ciphertext: &[u8],
) -> Vec<u8> {
    let mut v = entry_signing_bytes(clinic, doc, device, entry_id, ciphertext);
    v.extend_from_slice(b"\0snapshot");
    v.extend_from_slice(&covers_seq.to_be_bytes());
    v
}

/// Bytes the new key signs at enrollment (proof of possession).
pub fn enroll_signing_bytes(code_auth: &[u8; 32], public_key: &[u8; 32], label: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(96 + label.len());
    v.extend_from_slice(b"houmon-enroll-v1\0");
    v.extend_from_slice(code_auth);
    v.extend_from_slice(public_key);
    v.extend_from_slice(label.as_bytes());
    v
}

/// Encode a body.
pub fn encode<T: Serialize>(v: &T) -> Vec<u8> {
    // postcard into a Vec cannot fail for these types (no maps with non-string keys etc.).
    postcard::to_stdvec(v).unwrap_or_default()
}

/// Decode a body; `None` on malformed input (never panics).
pub fn decode<'a, T: Deserialize<'a>>(b: &'a [u8]) -> Option<T> {
    postcard::from_bytes(b).ok()
}

/// Milliseconds since the Unix epoch, as the wire's timestamps (`ts_ms`) count them.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

mod sig_bytes {
    use serde::{Deserializer, Serializer};
    pub fn serialize<S: Serializer>(v: &[u8; 64], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(v)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 64], D::Error> {
        let v: Vec<u8> = serde::de::Deserialize::deserialize(d)?;
        v.try_into().map_err(|_| serde::de::Error::custom("signature must be 64 bytes"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_and_garbage_is_refused() {
        let e = Entry {
            seq: 7,
            doc: DocId([1; 16]),
            device: DeviceId([2; 16]),
            entry_id: EntryId([3; 16]),
            signature: [4; 64],
            ciphertext: vec![5; 100],
        };
        let r = PullResponse { entries: vec![e.clone()], snapshots: vec![], cursor: 7, more: false };
        let b = encode(&r);
        // Framing overhead stays small: the catch-up byte ratio depends on it.
        assert!(b.len() < 100 + 16 * 3 + 64 + 16, "{} bytes", b.len());
        assert_eq!(decode::<PullResponse>(&b), Some(r));
        assert_eq!(decode::<PullResponse>(&b[..b.len() - 3]), None);
        assert_eq!(decode::<PullResponse>(&[0xff; 40]), None);
    }

    #[test]
    fn signing_bytes_bind_every_field() {
        let c = ClinicId([1; 16]);
        let d = DocId([2; 16]);
        let dev = DeviceId([3; 16]);
        let id = EntryId([4; 16]);
        let base = entry_signing_bytes(&c, &d, &dev, &id, b"x");
        assert_ne!(base, entry_signing_bytes(&ClinicId([9; 16]), &d, &dev, &id, b"x"));
        assert_ne!(base, entry_signing_bytes(&c, &DocId([9; 16]), &dev, &id, b"x"));
        assert_ne!(base, entry_signing_bytes(&c, &d, &dev, &id, b"y"));
        assert_ne!(base, snapshot_signing_bytes(&c, &d, &dev, &id, 0, b"x"));
        let n = [0u8; 16];
        assert_ne!(
            request_signing_bytes("POST", "/v1/append", &dev, 1, &n, b""),
            request_signing_bytes("POST", "/v1/pull", &dev, 1, &n, b"")
        );
    }

    #[test]
    fn every_error_has_both_languages() {
        for c in [
            ErrorCode::BadRequest,
            ErrorCode::Revoked,
            ErrorCode::TooManyRequests,
            ErrorCode::InvalidCode,
            ErrorCode::KeylessCode,
        ] {
            let (ja, en) = c.messages();
            assert!(!ja.is_ascii() && en.is_ascii());
            assert!(c.http_status() >= 400);
        }
    }
}

/// One-time enrollment codes (登録コード): 128 random bits written as 26 base32 characters in
/// groups of four. The relay sees only SHA-256 of [`enrollment::code_auth`]; the clinic
/// content key travels wrapped under [`enrollment::wrap_key`], which the relay cannot derive.
pub mod enrollment {
    use ring::hmac;

    const ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

    /// Write 16 random bytes as a code, e.g. `K7QF-...`.
    pub fn format_code(bytes: &[u8; 16]) -> String {
        let mut bits: u32 = 0;
        let mut n = 0;
        let mut out = String::new();
        for b in bytes {
            bits = (bits << 8) | u32::from(*b);
            n += 8;
            while n >= 5 {
                n -= 5;
                out.push(ALPHABET[((bits >> n) & 31) as usize] as char);
            }
        }
        if n > 0 {
            out.push(ALPHABET[((bits << (5 - n)) & 31) as usize] as char);
        }
        out.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join("-")
    }

    /// Read a code as typed (case, spaces and hyphens ignored). `None` if it cannot be one.
    pub fn parse_code(s: &str) -> Option<[u8; 16]> {
        let mut bits: u32 = 0;
        let mut n = 0;
        let mut out = Vec::with_capacity(16);
        let mut count = 0;
        for c in s.chars().filter(|c| !matches!(c, '-' | ' ')) {
            let c = c.to_ascii_uppercase() as u8;
            let v = ALPHABET.iter().position(|a| *a == c)? as u32;
            count += 1;
            bits = (bits << 5) | v;
            n += 5;
            if n >= 8 {
                n -= 8;
                out.push((bits >> n) as u8);
            }
        }
        if count != 26 {
            return None;
        }
        out.truncate(16);
        out.try_into().ok()
    }

    fn derive(code: &[u8; 16], label: &[u8]) -> [u8; 32] {
        let k = hmac::Key::new(hmac::HMAC_SHA256, code);
        let t = hmac::sign(&k, label);
        let mut o = [0u8; 32];
        o.copy_from_slice(t.as_ref());
        o
    }

    /// Sent by the enrolling device; proves it holds the code.
    pub fn code_auth(code: &[u8; 16]) -> [u8; 32] {
        derive(code, b"houmon-enroll-auth-v1")
    }

    /// What the relay stores to recognise the code.
    pub fn code_auth_hash(code: &[u8; 16]) -> [u8; 32] {
        let d = ring::digest::digest(&ring::digest::SHA256, &code_auth(code));
        let mut o = [0u8; 32];
        o.copy_from_slice(d.as_ref());
        o
    }

    /// Key that wraps the clinic content key for the enrolling device.
    pub fn wrap_key(code: &[u8; 16]) -> [u8; 32] {
        derive(code, b"houmon-enroll-wrap-v1")
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn codes_round_trip_as_typed() {
            let b = [0xA5u8; 16];
            let c = format_code(&b);
            assert_eq!(c.len(), 26 + 6);
            assert_eq!(parse_code(&c), Some(b));
            assert_eq!(parse_code(&c.to_lowercase().replace('-', " ")), Some(b));
            assert_eq!(parse_code(&c[..20]), None);
            assert_eq!(parse_code("0000-0000"), None, "0 and O are not in the alphabet");
            assert_ne!(code_auth(&b), wrap_key(&b));
        }
    }
}

#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "http")]
pub mod pinning;
