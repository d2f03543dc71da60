//! Blocking HTTP transport for devices (feature `http`): signs each request with the
//! device key and maps answers to [`ErrorBody`]. The only I/O in this crate, kept behind a
//! feature so the relay never links it.

use crate::*;

/// Signs request bytes with the device key (Ed25519). Kept abstract so the key can live in
/// the platform keystore.
pub trait RequestSigner: Send + Sync {
    fn device(&self) -> DeviceId;
    fn sign(&self, msg: &[u8]) -> [u8; 64];
}

/// What went wrong with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpError {
    /// The relay answered with an error.
    Relay { status: u16, body: ErrorBody },
    /// No answer (offline, refused, timed out, cut mid-way): retry later.
    Transport(String),
    /// The answer could not be decoded.
    Malformed(String),
}

impl HttpError {
    /// Worth retrying the same request later.
    pub fn retryable(&self) -> bool {
        match self {
            HttpError::Relay { body, .. } => body.code.retryable(),
            HttpError::Transport(_) => true,
            HttpError::Malformed(_) => true,
        }
    }
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            HttpError::Relay { body, .. } => Some(body.code),
            _ => None,
        }
    }
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HttpError::Relay { status, body } => write!(f, "relay {status}: {} ({})", body.message_en, body.detail),
            HttpError::Transport(e) => write!(f, "transport: {e}"),
            HttpError::Malformed(e) => write!(f, "malformed answer: {e}"),
        }
    }
}

impl std::error::Error for HttpError {}

/// A relay endpoint. `base` is `http://127.0.0.1:PORT` or `https://host`.
#[derive(Debug, Clone)]
pub struct RelayHttp {
    pub base: String,
    agent: ureq::Agent,
    /// Bytes sent and received (request and answer bodies), for the benchmark.
    pub counters: std::sync::Arc<Counters>,
}

#[derive(Debug, Default)]
pub struct Counters {
    pub requests: std::sync::atomic::AtomicU64,
    pub bytes_up: std::sync::atomic::AtomicU64,
    pub bytes_down: std::sync::atomic::AtomicU64,
}

fn nonce() -> [u8; 16] {
    use ring::rand::SecureRandom;
    let mut n = [0u8; 16];
    let _ = ring::rand::SystemRandom::new().fill(&mut n);
    n
}

/// Every relay agent: relay errors are answers (decoded into [`ErrorBody`]), 60 s at most.
fn agent_config() -> ureq::config::ConfigBuilder<ureq::typestate::AgentScope> {
    ureq::Agent::config_builder().http_status_as_error(false).timeout_global(Some(std::time::Duration::from_secs(60)))
}

impl RelayHttp {
    fn with_agent(base: &str, agent: ureq::Agent) -> Self {
        Self { base: base.trim_end_matches('/').to_string(), agent, counters: Default::default() }
    }

    pub fn new(base: &str) -> Self {
        Self::with_agent(base, agent_config().build().new_agent())
    }

    /// With a specific trusted root (a clinic's own CA, or pinning in tests).
    pub fn with_root_der(base: &str, der: &[u8]) -> Self {
        let cert = ureq::tls::Certificate::from_der(der).to_owned();
        let tls = ureq::tls::TlsConfig::builder()
            .root_certs(ureq::tls::RootCerts::Specific(std::sync::Arc::new(vec![cert])))
            .build();
        Self::with_agent(base, agent_config().tls_config(tls).build().new_agent())
    }

    /// For `relayCertificatePins`: the relay must present a chain that passes the normal check
    /// (public roots, or `root_der`, a clinic's own CA) *and* holds a key whose SHA-256 SPKI
    /// hash is one of `pins` (`sha256/<base64>`). No pins: [`Self::new`] / [`Self::with_root_der`].
    pub fn with_tls(base: &str, root_der: Option<&[u8]>, pins: &[String]) -> Result<Self, HttpError> {
        if pins.is_empty() {
            return Ok(match root_der {
                Some(der) => Self::with_root_der(base, der),
                None => Self::new(base),
            });
        }
        use ureq::unversioned::transport::{Connector, TcpConnector};
        let pins = crate::pinning::parse_pins(pins).map_err(HttpError::Malformed)?;
        let tls = crate::pinning::PinnedTls::new(root_der, pins).map_err(HttpError::Malformed)?;
        let connector = ().chain(TcpConnector::default()).chain(tls);
        let resolver = ureq::unversioned::resolver::DefaultResolver::default();
        Ok(Self::with_agent(base, ureq::Agent::with_parts(agent_config().build(), connector, resolver)))
    }

    /// `GET /v1/health` (unsigned): whether the relay answers, over the configured TLS.
    pub fn health(&self) -> Result<(), HttpError> {
        let r = self.agent.get(format!("{}{}", self.base, PATH_HEALTH)).call();
        self.finish(r, 0).map(|_| ())
    }

    fn headers(signer: &dyn RequestSigner, method: &str, path: &str, body: &[u8]) -> [(&'static str, String); 4] {
        let (t, n) = (now_ms(), nonce());
        let dev = signer.device();
        let sig = signer.sign(&request_signing_bytes(method, path, &dev, t, &n, body));
        [
            (HEADER_DEVICE, dev.to_hex()),
            (HEADER_TIME, t.to_string()),
            (HEADER_NONCE, hex::encode(n)),
            (HEADER_SIGNATURE, hex::encode(sig)),
        ]
    }

    fn finish(
        &self,
        r: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
        up: usize,
    ) -> Result<Vec<u8>, HttpError> {
        use std::sync::atomic::Ordering::Relaxed;
        let mut r = r.map_err(|e| HttpError::Transport(e.to_string()))?;
        let status = r.status().as_u16();
        let body = r
            .body_mut()
            .with_config()
            .limit(256 << 20)
            .read_to_vec()
            .map_err(|e| HttpError::Transport(e.to_string()))?;
        self.counters.requests.fetch_add(1, Relaxed);
        self.counters.bytes_up.fetch_add(up as u64, Relaxed);
        self.counters.bytes_down.fetch_add(body.len() as u64, Relaxed);
        if status == 200 {
            Ok(body)
        } else {
            let body = serde_json::from_slice::<ErrorBody>(&body)
                .unwrap_or_else(|_| ErrorBody::new(ErrorCode::Internal, format!("HTTP {status}")));
            Err(HttpError::Relay { status, body })
        }
    }

    /// POST a signed postcard body to `path`, decode the answer.
    pub fn post<Q: Serialize, A: for<'a> Deserialize<'a>>(
        &self,
        signer: &dyn RequestSigner,
        path: &str,
        req: &Q,
    ) -> Result<A, HttpError> {
        let body = encode(req);
        let mut rq = self.agent.post(format!("{}{}", self.base, path)).header("content-type", CONTENT_TYPE);
        for (k, v) in Self::headers(signer, "POST", path, &body) {
            rq = rq.header(k, v);
        }
        let n = body.len();
        let b = self.finish(rq.send(&body[..]), n)?;
        decode(&b).ok_or_else(|| HttpError::Malformed(path.into()))
    }

    /// GET a signed path, decode the answer.
    pub fn get<A: for<'a> Deserialize<'a>>(&self, signer: &dyn RequestSigner, path: &str) -> Result<A, HttpError> {
        let mut rq = self.agent.get(format!("{}{}", self.base, path));
        for (k, v) in Self::headers(signer, "GET", path, &[]) {
            rq = rq.header(k, v);
        }
        let b = self.finish(rq.call(), 0)?;
        decode(&b).ok_or_else(|| HttpError::Malformed(path.into()))
    }

    /// Enrollment is the one unsigned request (the code authenticates it).
    pub fn enroll(&self, req: &EnrollRequest) -> Result<EnrollResponse, HttpError> {
        let body = encode(req);
        let rq = self.agent.post(format!("{}{}", self.base, PATH_ENROLL)).header("content-type", CONTENT_TYPE);
        let n = body.len();
        let b = self.finish(rq.send(&body[..]), n)?;
        decode(&b).ok_or_else(|| HttpError::Malformed(PATH_ENROLL.into()))
    }

    /// Open the push WebSocket (signed handshake) and subscribe.
    pub fn open_push(&self, signer: &dyn RequestSigner, sub: &WsClient) -> Result<PushSocket, HttpError> {
        use tungstenite::client::IntoClientRequest;
        let url = format!("{}{}", self.base.replacen("http", "ws", 1), PATH_WS);
        let mut req = url.into_client_request().map_err(|e| HttpError::Transport(e.to_string()))?;
        for (k, v) in Self::headers(signer, "GET", PATH_WS, &[]) {
            if let Ok(v) = v.parse() {
                req.headers_mut().insert(k, v);
            }
        }
        let (mut ws, _) = tungstenite::connect(req).map_err(|e| HttpError::Transport(e.to_string()))?;
        ws.send(tungstenite::Message::Binary(encode(sub).into())).map_err(|e| HttpError::Transport(e.to_string()))?;
        Ok(PushSocket { ws })
    }
}

/// A subscribed push connection.
#[derive(Debug)]
pub struct PushSocket {
    ws: tungstenite::WebSocket<tungstenite::stream::MaybeTlsStream<std::net::TcpStream>>,
}

impl PushSocket {
    /// Block until the relay pushes something; `None` when the connection ended.
    pub fn next_message(&mut self) -> Option<WsServer> {
        loop {
            match self.ws.read() {
                Ok(tungstenite::Message::Binary(b)) => return decode(&b),
                Ok(tungstenite::Message::Close(_)) | Err(_) => return None,
                Ok(_) => {}
            }
        }
    }
}
