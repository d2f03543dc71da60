//! HTTP + WebSocket front of the relay: authentication of signed requests, limits, push.

use crate::store::{DeviceRecord, Enrolled, RelayStore, StoreError, StoreEvent};
use axum::Router;
use axum::body::Body;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use houmon_sync_proto::*;
use ring::signature::{ED25519, UnparsedPublicKey};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, watch};

/// Limits; every one answers with a clear error when exceeded.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_entry_bytes: usize,
    pub max_body_bytes: usize,
    pub max_batch: usize,
    pub max_pull_bytes: usize,
    /// Sustained requests per second per device, and the burst allowed above it.
    pub requests_per_s: f64,
    pub request_burst: f64,
    pub max_connections: usize,
    pub max_connections_per_device: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_entry_bytes: houmon_sync_proto::MAX_ENTRY_BYTES,
            max_body_bytes: 16 << 20,
            max_batch: 2_000,
            max_pull_bytes: 8 << 20,
            requests_per_s: 50.0,
            request_burst: 200.0,
            max_connections: 20_000,
            max_connections_per_device: 4,
        }
    }
}

/// A committed batch, fanned out to the clinic's open WebSockets. `clinic: None` tells every
/// socket to pull (another process's events may have been missed).
#[derive(Debug)]
struct Pushed {
    clinic: Option<ClinicId>,
    entries: Vec<Entry>,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Shared state of one relay process.
pub struct Relay {
    store: Arc<dyn RelayStore>,
    limits: Limits,
    nonces: Mutex<HashMap<(DeviceId, [u8; 16]), i64>>,
    buckets: Mutex<HashMap<DeviceId, Bucket>>,
    devices: Mutex<HashMap<DeviceId, (DeviceRecord, Instant)>>,
    push: broadcast::Sender<Arc<Pushed>>,
    revoked: broadcast::Sender<DeviceId>,
    ws_total: AtomicUsize,
    ws_per_device: Mutex<HashMap<DeviceId, usize>>,
    shutdown: watch::Sender<bool>,
    shutting_down: AtomicBool,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay").field("limits", &self.limits).finish()
    }
}

pub use houmon_sync_proto::now_ms;

/// How long a cached device record is trusted; revocation through the API (and, on
/// PostgreSQL, from any process) is immediate, through the admin CLI on SQLite within this time.
const DEVICE_CACHE: Duration = Duration::from_secs(1);

impl Relay {
    pub fn new(store: Arc<dyn RelayStore>, limits: Limits) -> Arc<Self> {
        let (push, _) = broadcast::channel(1024);
        let (revoked, _) = broadcast::channel(64);
        let (shutdown, _) = watch::channel(false);
        let mut nonces = HashMap::new();
        if let Ok(v) = store.recent_nonces(now_ms() - 2 * MAX_CLOCK_SKEW_MS) {
            for (d, n, t) in v {
                nonces.insert((d, n), t);
            }
        }
        Arc::new(Self {
            store,
            limits,
            nonces: Mutex::new(nonces),
            buckets: Mutex::new(HashMap::new()),
            devices: Mutex::new(HashMap::new()),
            push,
            revoked,
            ws_total: AtomicUsize::new(0),
            ws_per_device: Mutex::new(HashMap::new()),
            shutdown,
            shutting_down: AtomicBool::new(false),
        })
    }

    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route(PATH_HEALTH, get(health))
            .route(PATH_ENROLL, post(enroll))
            .route(PATH_APPEND, post(append))
            .route(PATH_PULL, post(pull))
            .route(PATH_SNAPSHOT, post(put_snapshot))
            .route(PATH_DEVICES, get(devices))
            .route(PATH_CODES, post(create_code))
            .route(PATH_REVOKE, post(revoke))
            .route(PATH_WS, get(ws))
            .fallback(|| async { ApiError(ErrorCode::NotFound, String::new()) })
            .with_state(self.clone())
    }

    /// Stop taking new work and close WebSockets (acknowledged appends are already durable).
    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
        let _ = self.shutdown.send(true);
    }

    pub fn store(&self) -> &Arc<dyn RelayStore> {
        &self.store
    }

    /// Follow what other relay processes on the same database do: their appends are pushed
    /// to this process's sockets, their revocations close them.
    pub fn listen_to_store(self: &Arc<Self>) -> Result<(), StoreError> {
        let relay = Arc::downgrade(self);
        let rt = tokio::runtime::Handle::current();
        self.store.listen(Arc::new(move |ev| {
            if let Some(r) = relay.upgrade() {
                rt.spawn(async move { r.on_store_event(ev).await });
            }
        }))
    }

    async fn on_store_event(self: Arc<Self>, ev: StoreEvent) {
        match ev {
            StoreEvent::Appended { clinic, after, up_to } => {
                let st = self.store.clone();
                let req = PullRequest { after, docs: None, max_bytes: u32::MAX, with_snapshots: false };
                let max = self.limits.max_pull_bytes;
                let page = tokio::task::spawn_blocking(move || st.pull(clinic, &req, max)).await;
                match page {
                    // Only a whole range is pushed: sockets see consecutive seqs or pull.
                    Ok(Ok(p)) if !p.more && p.entries.last().is_some_and(|e| e.seq >= up_to) => {
                        let entries = p.entries.into_iter().filter(|e| e.seq <= up_to).collect();
                        let _ = self.push.send(Arc::new(Pushed { clinic: Some(clinic), entries }));
                    }
                    _ => {
                        let _ = self.push.send(Arc::new(Pushed { clinic: Some(clinic), entries: Vec::new() }));
                    }
                }
            }
            StoreEvent::Revoked(d) => {
                if let Ok(mut c) = self.devices.lock() {
                    c.remove(&d);
                }
                let _ = self.revoked.send(d);
            }
            StoreEvent::Missed => {
                let _ = self.push.send(Arc::new(Pushed { clinic: None, entries: Vec::new() }));
            }
        }
    }

    async fn device(&self, id: DeviceId) -> Result<Option<DeviceRecord>, ApiError> {
        if let Ok(c) = self.devices.lock()
            && let Some((d, at)) = c.get(&id)
            && at.elapsed() < DEVICE_CACHE
        {
            return Ok(Some(d.clone()));
        }
        let st = self.store.clone();
        let d = blocking(move || st.device(id)).await?;
        if let (Some(d), Ok(mut c)) = (&d, self.devices.lock()) {
            if c.len() > 100_000 {
                c.clear();
            }
            c.insert(id, (d.clone(), Instant::now()));
        }
        Ok(d)
    }

    /// The headers' claim, checked before any body is read: well-formed signature headers and
    /// a device the relay knows. An unknown device never makes the relay read a body.
    async fn claim(&self, h: &HeaderMap) -> Result<Claim, ApiError> {
        if self.shutting_down.load(Ordering::SeqCst) {
            return Err(ApiError(ErrorCode::ShuttingDown, String::new()));
        }
        let get = |name: &str| h.get(name).and_then(|v| v.to_str().ok());
        let unauth = |d: &str| ApiError(ErrorCode::Unauthenticated, d.to_string());
        let device = get(HEADER_DEVICE).and_then(DeviceId::from_hex).ok_or_else(|| unauth("missing device"))?;
        let time: i64 = get(HEADER_TIME).and_then(|t| t.parse().ok()).ok_or_else(|| unauth("missing time"))?;
        let mut nonce = [0u8; 16];
        get(HEADER_NONCE)
            .and_then(|n| hex::decode_to_slice(n, &mut nonce).ok())
            .ok_or_else(|| unauth("missing nonce"))?;
        let mut sig = [0u8; 64];
        get(HEADER_SIGNATURE)
            .and_then(|s| hex::decode_to_slice(s, &mut sig).ok())
            .ok_or_else(|| unauth("missing signature"))?;
        // Unknown device and bad signature look the same from outside.
        let rec = self.device(device).await?.ok_or_else(|| unauth(""))?;
        Ok(Claim { rec, time, nonce, sig })
    }

    /// Verify a claim over the body it came with. Returns the device and the request nonce.
    fn verify(
        &self,
        c: Claim,
        method: &Method,
        uri: &Uri,
        body: &[u8],
    ) -> Result<(DeviceRecord, [u8; 16], i64), ApiError> {
        let Claim { rec, time, nonce, sig } = c;
        let device = rec.device;
        let msg = request_signing_bytes(method.as_str(), uri.path(), &device, time, &nonce, body);
        UnparsedPublicKey::new(&ED25519, &rec.public_key)
            .verify(&msg, &sig)
            .map_err(|_| ApiError(ErrorCode::Unauthenticated, String::new()))?;
        if rec.revoked {
            return Err(ApiError(ErrorCode::Revoked, String::new()));
        }
        let now = now_ms();
        if (now - time).abs() > MAX_CLOCK_SKEW_MS {
            return Err(ApiError(ErrorCode::ClockSkew, format!("relay time {now}")));
        }
        // The rate limit before the nonce: a flood is not remembered. (After the body, so a
        // refused client is not cut off mid-upload.)
        self.take_token(device)?;
        {
            let mut n = self.nonces.lock().map_err(|_| internal("lock"))?;
            if n.len() > 200_000 {
                n.retain(|_, t| (now - *t).abs() <= MAX_CLOCK_SKEW_MS);
            }
            if n.insert((device, nonce), time).is_some() {
                return Err(ApiError(ErrorCode::Replay, String::new()));
            }
        }
        Ok((rec, nonce, time))
    }

    /// A request without a body (GET).
    async fn authenticate(
        &self,
        method: &Method,
        uri: &Uri,
        h: &HeaderMap,
    ) -> Result<(DeviceRecord, [u8; 16], i64), ApiError> {
        let c = self.claim(h).await?;
        self.verify(c, method, uri, &[])
    }

    /// A request with a body: the claim first, then the body (a revoked device's only up to
    /// 64 KB, enough to learn it is revoked), then the signature over it.
    async fn authenticate_body(
        &self,
        method: &Method,
        uri: &Uri,
        h: &HeaderMap,
        body: Body,
    ) -> Result<(DeviceRecord, [u8; 16], i64, Vec<u8>), ApiError> {
        let c = match self.claim(h).await {
            Ok(c) => c,
            Err(e) => {
                drain_briefly(body).await;
                return Err(e);
            }
        };
        let limit = if c.rec.revoked { 64 << 10 } else { self.limits.max_body_bytes };
        let b = read_body(body, limit).await?;
        let (rec, nonce, time) = self.verify(c, method, uri, &b)?;
        Ok((rec, nonce, time, b))
    }

    fn take_token(&self, device: DeviceId) -> Result<(), ApiError> {
        let mut b = self.buckets.lock().map_err(|_| internal("lock"))?;
        let now = Instant::now();
        let l = &self.limits;
        let e = b.entry(device).or_insert(Bucket { tokens: l.request_burst, at: now });
        e.tokens = (e.tokens + now.duration_since(e.at).as_secs_f64() * l.requests_per_s).min(l.request_burst);
        e.at = now;
        if e.tokens < 1.0 {
            return Err(ApiError(ErrorCode::TooManyRequests, format!("limit {} requests/s", l.requests_per_s)));
        }
        e.tokens -= 1.0;
        Ok(())
    }
}

/// A signed request's headers, before the body is read.
struct Claim {
    rec: DeviceRecord,
    time: i64,
    nonce: [u8; 16],
    sig: [u8; 64],
}

/// Before refusing a request from its headers, take in what the client already sent (at most
/// 64 KB, for at most 200 ms), never the whole body it announced: closing a connection with
/// unread data resets it, and the client would lose the refusal and see a dropped connection.
async fn drain_briefly(body: Body) {
    // Past the limit or the time, whatever is left is the client's problem: the answer is sent.
    let _ = tokio::time::timeout(Duration::from_millis(200), axum::body::to_bytes(body, 64 << 10)).await;
}

async fn read_body(body: Body, limit: usize) -> Result<Vec<u8>, ApiError> {
    axum::body::to_bytes(body, limit)
        .await
        .map(|b| b.to_vec())
        .map_err(|_| ApiError(ErrorCode::BodyTooLarge, format!("limit {limit} bytes")))
}

/// An error answer: JSON [`ErrorBody`] with the code's HTTP status.
#[derive(Debug)]
pub struct ApiError(pub ErrorCode, pub String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&ErrorBody::new(self.0, self.1)).unwrap_or_default();
        (status, [(header::CONTENT_TYPE, "application/json; charset=utf-8")], body).into_response()
    }
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    eprintln!("houmon-relay: internal error: {e}");
    ApiError(ErrorCode::Internal, String::new())
}

fn store_err(e: StoreError) -> ApiError {
    match e {
        StoreError::Replay => ApiError(ErrorCode::Replay, String::new()),
        StoreError::Closed => ApiError(ErrorCode::ShuttingDown, String::new()),
        StoreError::TooManyDocs(n) => ApiError(ErrorCode::BadRequest, format!("{n} documents in one pull")),
        StoreError::KeylessForFounded => ApiError(ErrorCode::KeylessCode, String::new()),
        e => internal(e),
    }
}

fn ok_body(b: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], b).into_response()
}

fn decode_body<T: for<'a> serde::Deserialize<'a>>(b: &[u8]) -> Result<T, ApiError> {
    decode::<T>(b).ok_or(ApiError(ErrorCode::BadRequest, "undecodable body".into()))
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await.map_err(internal)?.map_err(store_err)
}

type S = State<Arc<Relay>>;

async fn health(State(r): S) -> Response {
    let st = r.store.clone();
    let ok = tokio::task::spawn_blocking(move || st.healthy()).await.unwrap_or(false);
    let down = r.shutting_down.load(Ordering::SeqCst);
    let body = serde_json::json!({
        "status": if ok && !down { "ok" } else { "unavailable" },
        "version": env!("CARGO_PKG_VERSION"),
        "protocol": PROTOCOL_VERSION,
    });
    let status = if ok && !down { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

async fn enroll(State(r): S, body: Body) -> Result<Response, ApiError> {
    if r.shutting_down.load(Ordering::SeqCst) {
        return Err(ApiError(ErrorCode::ShuttingDown, String::new()));
    }
    let b = read_body(body, r.limits.max_body_bytes).await?;
    let req: EnrollRequest = decode_body(&b)?;
    let label: String = req.label.chars().take(100).collect();
    UnparsedPublicKey::new(&ED25519, &req.public_key)
        .verify(&enroll_signing_bytes(&req.code_auth, &req.public_key, &req.label), &req.proof)
        .map_err(|_| ApiError(ErrorCode::InvalidCode, "proof".into()))?;
    let hash: [u8; 32] =
        ring::digest::digest(&ring::digest::SHA256, &req.code_auth).as_ref().try_into().map_err(internal)?;
    let st = r.store.clone();
    let pk = req.public_key;
    match blocking(move || st.enroll(hash, pk, &label, now_ms())).await? {
        Enrolled::Ok(resp) => Ok(ok_body(encode(&resp))),
        Enrolled::InvalidCode => {
            // Slow down guessing (codes carry 128 bits, this is belt and braces).
            tokio::time::sleep(Duration::from_millis(200)).await;
            Err(ApiError(ErrorCode::InvalidCode, String::new()))
        }
        Enrolled::KeylessForFounded => Err(ApiError(ErrorCode::KeylessCode, String::new())),
    }
}

async fn append(State(r): S, method: Method, uri: Uri, h: HeaderMap, body: Body) -> Result<Response, ApiError> {
    let (dev, nonce, time, b) = r.authenticate_body(&method, &uri, &h, body).await?;
    let req: AppendRequest = decode_body(&b)?;
    drop(b);
    if req.entries.len() > r.limits.max_batch {
        return Err(ApiError(ErrorCode::BodyTooLarge, format!("at most {} entries per request", r.limits.max_batch)));
    }
    if let Some(e) = req.entries.iter().find(|e| e.ciphertext.len() > r.limits.max_entry_bytes) {
        return Err(ApiError(
            ErrorCode::EntryTooLarge,
            format!("entry {} is {} bytes, limit {}", e.entry_id, e.ciphertext.len(), r.limits.max_entry_bytes),
        ));
    }
    let st = r.store.clone();
    let clinic = dev.clinic;
    let (results, added) = blocking(move || st.append(clinic, dev.device, Some((nonce, time)), req.entries)).await?;
    if !added.is_empty() {
        let _ = r.push.send(Arc::new(Pushed { clinic: Some(clinic), entries: added }));
    }
    Ok(ok_body(encode(&AppendResponse { results })))
}

async fn pull(State(r): S, method: Method, uri: Uri, h: HeaderMap, body: Body) -> Result<Response, ApiError> {
    let (dev, _, _, b) = r.authenticate_body(&method, &uri, &h, body).await?;
    let req: PullRequest = decode_body(&b)?;
    let max = (req.max_bytes as usize).clamp(64 << 10, r.limits.max_pull_bytes);
    let st = r.store.clone();
    let resp = blocking(move || {
        let resp = st.pull(dev.clinic, &req, max)?;
        // A failure to note the time must not fail the catch-up.
        let _ = st.seen(dev.device, now_ms());
        Ok(resp)
    })
    .await?;
    Ok(ok_body(encode(&resp)))
}

async fn put_snapshot(State(r): S, method: Method, uri: Uri, h: HeaderMap, body: Body) -> Result<Response, ApiError> {
    let (dev, _, _, b) = r.authenticate_body(&method, &uri, &h, body).await?;
    let req: PutSnapshotRequest = decode_body(&b)?;
    let st = r.store.clone();
    let stored = blocking(move || st.put_snapshot(dev.clinic, dev.device, req)).await?;
    Ok(ok_body(encode(&stored)))
}

async fn devices(State(r): S, method: Method, uri: Uri, h: HeaderMap) -> Result<Response, ApiError> {
    let (dev, _, _) = r.authenticate(&method, &uri, &h).await?;
    let st = r.store.clone();
    let devices = blocking(move || st.devices(dev.clinic)).await?;
    Ok(ok_body(encode(&DevicesResponse { devices })))
}

async fn create_code(State(r): S, method: Method, uri: Uri, h: HeaderMap, body: Body) -> Result<Response, ApiError> {
    let (dev, _, _, b) = r.authenticate_body(&method, &uri, &h, body).await?;
    if dev.role != Role::Admin {
        return Err(ApiError(ErrorCode::Forbidden, String::new()));
    }
    let req: CreateCodeRequest = decode_body(&b)?;
    let expires = now_ms() + i64::from(req.valid_for_s.clamp(60, 30 * 86_400)) * 1000;
    let st = r.store.clone();
    blocking(move || st.create_code(dev.clinic, req.code_auth_hash, req.role, req.wrapped_content_key, expires))
        .await?;
    Ok(ok_body(encode(&expires)))
}

async fn revoke(State(r): S, method: Method, uri: Uri, h: HeaderMap, body: Body) -> Result<Response, ApiError> {
    let (dev, _, _, b) = r.authenticate_body(&method, &uri, &h, body).await?;
    if dev.role != Role::Admin {
        return Err(ApiError(ErrorCode::Forbidden, String::new()));
    }
    let req: RevokeRequest = decode_body(&b)?;
    let st = r.store.clone();
    let target = req.device;
    // Scoped to the admin's clinic: another clinic's device is "not found", like a missing one.
    if !blocking(move || st.revoke(Some(dev.clinic), target)).await? {
        return Err(ApiError(ErrorCode::NotFound, String::new()));
    }
    if let Ok(mut c) = r.devices.lock() {
        c.remove(&target);
    }
    let _ = r.revoked.send(target);
    Ok(ok_body(encode(&true)))
}

/// Releases a connection slot when the WebSocket ends.
struct ConnSlot {
    relay: Arc<Relay>,
    device: DeviceId,
}

impl Drop for ConnSlot {
    fn drop(&mut self) {
        self.relay.ws_total.fetch_sub(1, Ordering::SeqCst);
        if let Ok(mut m) = self.relay.ws_per_device.lock()
            && let Some(n) = m.get_mut(&self.device)
        {
            *n = n.saturating_sub(1);
            if *n == 0 {
                m.remove(&self.device);
            }
        }
    }
}

async fn ws(State(r): S, method: Method, uri: Uri, h: HeaderMap, upgrade: WsUpgrade) -> Result<Response, ApiError> {
    let (dev, _, _) = r.authenticate(&method, &uri, &h).await?;
    let Some(upgrade) = upgrade.0 else {
        return Err(ApiError(ErrorCode::BadRequest, "expected a WebSocket upgrade".into()));
    };
    if r.ws_total.fetch_add(1, Ordering::SeqCst) >= r.limits.max_connections {
        r.ws_total.fetch_sub(1, Ordering::SeqCst);
        return Err(ApiError(ErrorCode::TooManyConnections, format!("limit {}", r.limits.max_connections)));
    }
    {
        let mut m = r.ws_per_device.lock().map_err(|_| internal("lock"))?;
        let n = m.entry(dev.device).or_insert(0);
        if *n >= r.limits.max_connections_per_device {
            drop(m);
            r.ws_total.fetch_sub(1, Ordering::SeqCst);
            return Err(ApiError(
                ErrorCode::TooManyConnections,
                format!("at most {} connections per device", r.limits.max_connections_per_device),
            ));
        }
        *n += 1;
    }
    let slot = ConnSlot { relay: r.clone(), device: dev.device };
    // Small buffers: an idle connection must stay far below 100 KB.
    Ok(upgrade
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_message_size(1 << 20)
        .on_upgrade(move |socket| ws_session(socket, slot, dev)))
}

/// Optional upgrade extractor, so a plain GET gets our JSON error rather than axum's text.
struct WsUpgrade(Option<WebSocketUpgrade>);

impl<St: Send + Sync> FromRequestParts<St> for WsUpgrade {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &St) -> Result<Self, Self::Rejection> {
        Ok(WsUpgrade(WebSocketUpgrade::from_request_parts(parts, state).await.ok()))
    }
}

async fn ws_session(mut socket: WebSocket, slot: ConnSlot, dev: DeviceRecord) {
    let r = slot.relay.clone();
    let mut push = r.push.subscribe();
    let mut revoked = r.revoked.subscribe();
    let mut shutdown = r.shutdown.subscribe();
    let mut sub: Option<(u64, Option<HashSet<DocId>>)> = None;
    let mut ping = tokio::time::interval(Duration::from_secs(30));
    ping.tick().await;
    loop {
        tokio::select! {
            m = socket.recv() => {
                let Some(Ok(m)) = m else { break };
                match m {
                    Message::Binary(b) => {
                        let Some(WsClient::Subscribe { after, docs }) = decode::<WsClient>(&b) else { break };
                        // Each Subscribe costs a pull: a revoked device gets nothing more, and
                        // a device over its request rate loses the socket (it reconnects later).
                        if r.device(dev.device).await.ok().flatten().is_none_or(|d| d.revoked) {
                            let _ = socket.send(Message::Binary(encode(&WsServer::Revoked).into())).await;
                            break;
                        }
                        if r.take_token(dev.device).is_err() { break }
                        // Catch up first (the push receiver already buffers what lands meanwhile).
                        let st = r.store.clone();
                        let req = PullRequest { after, docs: docs.clone(), max_bytes: r.limits.max_pull_bytes as u32, with_snapshots: false };
                        let max = r.limits.max_pull_bytes;
                        let clinic = dev.clinic;
                        let Ok(Ok(resp)) = tokio::task::spawn_blocking(move || st.pull(clinic, &req, max)).await else { break };
                        let msg = if resp.more { WsServer::PullNeeded } else { WsServer::Entries { entries: resp.entries, cursor: resp.cursor } };
                        if socket.send(Message::Binary(encode(&msg).into())).await.is_err() { break }
                        sub = Some((resp.cursor, docs.map(|d| d.into_iter().collect())));
                    }
                    Message::Close(_) => break,
                    _ => {}
                }
            }
            p = push.recv() => {
                match p {
                    Ok(p) if p.clinic.is_none_or(|c| c == dev.clinic) => {
                        let Some((after, docs)) = &mut sub else { continue };
                        if r.device(dev.device).await.ok().flatten().is_none_or(|d| d.revoked) {
                            let _ = socket.send(Message::Binary(encode(&WsServer::Revoked).into())).await;
                            break;
                        }
                        let last = p.entries.last().map(|e| e.seq).unwrap_or(0);
                        // Nothing to push, or a batch out of order (from another relay process
                        // on the same database): the device pulls what it has not seen.
                        let gap = p.entries.first().is_none_or(|e| e.seq > *after + 1);
                        if last != 0 && last <= *after { continue }
                        if gap {
                            *after = (*after).max(last);
                            if socket.send(Message::Binary(encode(&WsServer::PullNeeded).into())).await.is_err() { break }
                            continue;
                        }
                        let entries: Vec<Entry> = p.entries.iter()
                            .filter(|e| e.seq > *after && docs.as_ref().is_none_or(|d| d.contains(&e.doc)))
                            .cloned().collect();
                        *after = last;
                        if entries.is_empty() { continue }
                        let msg = WsServer::Entries { entries, cursor: last };
                        if socket.send(Message::Binary(encode(&msg).into())).await.is_err() { break }
                    }
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        if socket.send(Message::Binary(encode(&WsServer::PullNeeded).into())).await.is_err() { break }
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                }
            }
            d = revoked.recv() => {
                if matches!(d, Ok(d) if d == dev.device) {
                    let _ = socket.send(Message::Binary(encode(&WsServer::Revoked).into())).await;
                    break;
                }
            }
            _ = shutdown.changed() => break,
            _ = ping.tick() => {
                if socket.send(Message::Ping(Vec::new().into())).await.is_err() { break }
            }
        }
    }
    let _ = socket.send(Message::Close(None)).await;
    drop(slot);
}
