//! `houmon-card`: card diagnostics for support staff. Every command prints one JSON object on
//! stdout; an error prints `{"error", "message", "message_en"}` and exits with status 1.
//! PINs and 照合番号B are read from stdin (or the terminal, without echo).
//!
//! Must never: take a PIN or 照合番号B from argv or the environment, print one, or send the PIN
//! on the last try (or when the card does not say how many are left) without
//! `--confirm-last-try`.

use std::io::{BufRead, IsTerminal, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use clap::{Parser, Subcommand};
use houmon_nfc::vpcd::{self, VpcdOptions};
use houmon_nfc::{
    AuthPin, Card, CardError, FaceIssuers, PcscReader, VerificationCodeB, VirtualCard, jpki, list_readers,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

#[derive(Parser)]
#[command(name = "houmon-card", version, about = "マイナンバーカードの読み取り診断 (My Number card diagnostics)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the card readers.
    Readers,
    /// Show the reader, the card's ATR, and whether the JPKI application answers.
    Status {
        #[arg(long)]
        reader: Option<String>,
        /// Wait up to this many seconds for a card to be placed.
        #[arg(long, default_value_t = 0.0)]
        wait: f64,
    },
    /// Read the 利用者証明用 certificate (no PIN needed).
    Cert {
        #[arg(long)]
        reader: Option<String>,
    },
    /// Remaining tries of the 利用者証明用 PIN (consumes none).
    PinTries {
        #[arg(long)]
        reader: Option<String>,
    },
    /// Sign a SHA-256 digest with the card (PIN read from stdin).
    Sign {
        /// The 32-byte SHA-256 digest to sign, in hex.
        #[arg(long)]
        digest: String,
        #[arg(long)]
        reader: Option<String>,
        /// Send the PIN even when only one try is left, or the card does not say how many (a
        /// wrong PIN may then block the card).
        #[arg(long)]
        confirm_last_try: bool,
    },
    /// Save the card's face photo as PNG (照合番号B read from stdin) and check the issuer's
    /// signature over the face data.
    Face {
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        reader: Option<String>,
        /// The card issuer's public key (DER SubjectPublicKeyInfo) to verify the face data
        /// with; repeatable. Without one the photo is reported as not verified.
        #[arg(long)]
        issuer_key: Vec<PathBuf>,
    },
    /// Serve a synthetic virtual card to vpcd (pcscd) until stopped.
    Virtual {
        #[arg(long, default_value_t = vpcd::VPCD_PORT)]
        port: u16,
        /// Which synthetic card holder (vc-01 … vc-05).
        #[arg(long, default_value = houmon_nfc::DEMO_HOLDER)]
        card: String,
        /// Play a dummy chip whose face data carries no valid issuer signature.
        #[arg(long)]
        unsigned_face: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(v) => {
            println!("{v}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("{}", json!({"error": e.code(), "message": e.message_ja(), "message_en": e.message_en()}));
            ExitCode::FAILURE
        }
    }
}

fn connect(reader: Option<&str>, wait: Duration) -> Result<Card<PcscReader>, CardError> {
    Ok(Card::new(PcscReader::connect(reader, wait)?))
}

/// Reads one line of secret input: from the terminal without echo, or from piped stdin.
fn read_secret(prompt: &str) -> Result<Zeroizing<String>, CardError> {
    let unreadable = || CardError::ReaderFailure("could not read the secret from stdin".into());
    if std::io::stdin().is_terminal() {
        return rpassword::prompt_password(prompt).map(Zeroizing::new).map_err(|_| unreadable());
    }
    let mut line = Zeroizing::new(String::new());
    std::io::stdin().lock().read_line(&mut line).map_err(|_| unreadable())?;
    Ok(line)
}

fn certificate_json(der: &[u8]) -> Result<Value, CardError> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).map_err(|_| CardError::Malformed("certificate"))?;
    let time = |t: x509_parser::time::ASN1Time| {
        chrono::DateTime::from_timestamp(t.timestamp(), 0).map(|d| d.to_rfc3339()).unwrap_or_default()
    };
    Ok(json!({
        "subject": cert.subject().to_string(),
        "issuer": cert.issuer().to_string(),
        "serial": hex::encode(cert.raw_serial()),
        "not_before": time(cert.validity().not_before),
        "not_after": time(cert.validity().not_after),
        "sha256": hex::encode(Sha256::digest(der)),
    }))
}

fn run(command: Command) -> Result<Value, CardError> {
    match command {
        Command::Readers => Ok(json!({"readers": list_readers()?})),
        Command::Status { reader, wait } => {
            let mut card = connect(reader.as_deref(), Duration::from_secs_f64(wait.max(0.0)))?;
            let jpki = match card.select_jpki() {
                Ok(()) => true,
                Err(CardError::NotMyNumberCard) => false,
                Err(e) => return Err(e),
            };
            let t = card.transport();
            Ok(json!({"reader": t.reader_name(), "atr": hex::encode_upper(t.atr()), "jpki": jpki}))
        }
        Command::Cert { reader } => {
            let mut card = connect(reader.as_deref(), Duration::ZERO)?;
            let der = card.read_auth_certificate()?;
            let mut v = certificate_json(&der)?;
            v["apdus"] = json!(card.apdu_count());
            Ok(v)
        }
        Command::PinTries { reader } => {
            let mut card = connect(reader.as_deref(), Duration::ZERO)?;
            Ok(json!({"remaining": card.auth_pin_tries()?}))
        }
        Command::Sign { digest, reader, confirm_last_try } => {
            let digest: [u8; 32] = hex::decode(digest.trim())
                .ok()
                .and_then(|d| d.try_into().ok())
                .ok_or(CardError::Malformed("--digest must be 64 hex digits (a SHA-256 digest)"))?;
            let mut card = connect(reader.as_deref(), Duration::ZERO)?;
            let pin = AuthPin::parse(&read_secret("暗証番号（4桁） / PIN: ")?)?;
            let signed = jpki::pin_mode_sign(&mut card, &pin, &digest, confirm_last_try)?;
            Ok(json!({
                "signature": hex::encode(&signed.signature),
                "sha256": hex::encode(Sha256::digest(&signed.certificate)),
                "apdus": signed.apdus,
            }))
        }
        Command::Face { out, reader, issuer_key } => {
            let keys = issuer_key
                .iter()
                .map(|p| {
                    std::fs::read(p)
                        .map_err(|e| CardError::ReaderFailure(format!("could not read {}: {e}", p.display())))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let issuers = FaceIssuers::from_spki_der(keys.iter().map(Vec::as_slice))?;
            let mut card = connect(reader.as_deref(), Duration::ZERO)?;
            let code_b = VerificationCodeB::parse(&read_secret("照合番号B（14桁） / verification code B: ")?)?;
            let face = card.read_face_photo(&code_b, &issuers)?;
            std::fs::write(&out, &face.photo.png)
                .map_err(|e| CardError::ReaderFailure(format!("could not write {}: {e}", out.display())))?;
            Ok(json!({
                "out": out,
                "width": face.photo.width,
                "height": face.photo.height,
                "authenticity": face.authenticity,
                "apdus": card.apdu_count(),
            }))
        }
        Command::Virtual { port, card, unsigned_face } => {
            let options = houmon_nfc::virtual_card::VirtualCardOptions { unsigned_face, ..Default::default() };
            let mut virtual_card = VirtualCard::with_options(&card, options)?;
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            println!("{}", json!({"virtual_card": card, "vpcd": addr.to_string(), "training_only": true}));
            let _ = std::io::stdout().flush();
            if TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_err() {
                eprintln!(
                    "vpcd（pcscd）に接続できません。pcscd と vsmartcard-vpcd が動いているか確認してください。接続を待っています… \
                     / Cannot reach vpcd; check that pcscd with vsmartcard-vpcd is running. Waiting…"
                );
            }
            let stop = AtomicBool::new(false);
            vpcd::serve(&mut virtual_card, addr, VpcdOptions::default(), &stop, &Mutex::new(None))
                .map_err(|e| CardError::ReaderFailure(e.to_string()))?;
            std::process::exit(0);
        }
    }
}
