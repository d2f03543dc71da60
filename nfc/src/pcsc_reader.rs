//! PC/SC transport through the `pcsc` crate: a USB NFC/contact reader, or vpcd in tests.

use std::ffi::{CStr, CString};
use std::time::{Duration, Instant};

use pcsc::{Context, Protocols, ReaderState, Scope, ShareMode, State};

use crate::firewall::CheckedApdu;
use crate::{CardError, Transport};

fn map_context_error(e: pcsc::Error) -> CardError {
    match e {
        pcsc::Error::NoReadersAvailable => CardError::NoReader,
        pcsc::Error::NoService | pcsc::Error::ServiceStopped => CardError::ServiceUnavailable,
        pcsc::Error::Timeout => CardError::Timeout,
        other => CardError::ReaderFailure(other.to_string()),
    }
}

fn establish() -> Result<Context, CardError> {
    Context::establish(Scope::User).map_err(map_context_error)
}

fn reader_names(ctx: &Context) -> Result<Vec<CString>, CardError> {
    match ctx.list_readers_owned() {
        Ok(r) if r.is_empty() => Err(CardError::NoReader),
        Ok(r) => Ok(r),
        Err(e) => Err(map_context_error(e)),
    }
}

/// Names of the connected readers.
pub fn list_readers() -> Result<Vec<String>, CardError> {
    let ctx = establish()?;
    Ok(reader_names(&ctx)?.iter().map(|r| r.to_string_lossy().into_owned()).collect())
}

/// A connected card in a PC/SC reader. Dropping it resets the card, so no verified PIN state
/// outlives the session.
pub struct PcscReader {
    ctx: Context,
    card: pcsc::Card,
    name: CString,
    atr: Vec<u8>,
}

impl std::fmt::Debug for PcscReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PcscReader({})", self.name.to_string_lossy())
    }
}

impl PcscReader {
    /// Connects to the card in `reader` (or in the first reader holding a card), waiting up to
    /// `wait` for one to be placed.
    pub fn connect(reader: Option<&str>, wait: Duration) -> Result<Self, CardError> {
        let ctx = establish()?;
        let names = reader_names(&ctx)?;
        let candidates: Vec<CString> = match reader {
            Some(want) => {
                let found = names.into_iter().find(|n| n.to_string_lossy() == want);
                vec![found.ok_or_else(|| CardError::ReaderNotFound(want.to_string()))?]
            }
            None => names,
        };
        let (name, atr) = wait_for_card(&ctx, &candidates, wait)?;
        let card = ctx.connect(&name, ShareMode::Exclusive, Protocols::ANY).map_err(|e| match e {
            pcsc::Error::NoSmartcard | pcsc::Error::RemovedCard => CardError::NoCard,
            pcsc::Error::SharingViolation => CardError::ReaderBusy,
            pcsc::Error::UnresponsiveCard | pcsc::Error::UnpoweredCard => CardError::NotMyNumberCard,
            other => map_context_error(other),
        })?;
        Ok(Self { ctx, card, name, atr })
    }

    pub fn reader_name(&self) -> String {
        self.name.to_string_lossy().into_owned()
    }

    pub fn atr(&self) -> &[u8] {
        &self.atr
    }

    /// Whether the card is still in the reader.
    pub fn card_present(&self) -> bool {
        present(&self.ctx, &self.name).unwrap_or(false)
    }

    /// Waits until the card leaves the reader.
    pub fn wait_for_removal(&self, timeout: Duration) -> Result<(), CardError> {
        let deadline = Instant::now() + timeout;
        let mut states = [ReaderState::new(self.name.clone(), State::UNAWARE)];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.ctx.get_status_change(left, &mut states) {
                Ok(()) => {}
                Err(pcsc::Error::Timeout) => return Err(CardError::Timeout),
                Err(e) => return Err(map_context_error(e)),
            }
            if !states[0].event_state().contains(State::PRESENT) {
                return Ok(());
            }
            states[0].sync_current_state();
        }
    }
}

/// Whether the named reader holds a card, without connecting to it.
pub fn reader_has_card(reader: &str) -> Result<bool, CardError> {
    let ctx = establish()?;
    let name = CString::new(reader).map_err(|_| CardError::ReaderNotFound(reader.to_string()))?;
    present(&ctx, &name).map_err(|e| match e {
        CardError::ReaderFailure(_) => CardError::ReaderNotFound(reader.to_string()),
        other => other,
    })
}

fn present(ctx: &Context, name: &CStr) -> Result<bool, CardError> {
    let mut states = [ReaderState::new(name.to_owned(), State::UNAWARE)];
    ctx.get_status_change(Duration::ZERO, &mut states).map_err(map_context_error)?;
    Ok(states[0].event_state().contains(State::PRESENT))
}

/// Waits until one of `readers` holds a card; returns its name and ATR.
fn wait_for_card(ctx: &Context, readers: &[CString], wait: Duration) -> Result<(CString, Vec<u8>), CardError> {
    let deadline = Instant::now() + wait;
    let mut states: Vec<ReaderState> = readers.iter().map(|r| ReaderState::new(r.clone(), State::UNAWARE)).collect();
    let mut first = true;
    loop {
        let left = if first { Duration::ZERO } else { deadline.saturating_duration_since(Instant::now()) };
        match ctx.get_status_change(left, &mut states) {
            Ok(()) => {}
            Err(pcsc::Error::Timeout) if !first => return Err(CardError::NoCard),
            Err(pcsc::Error::Timeout) => {}
            Err(e) => return Err(map_context_error(e)),
        }
        if let Some(s) = states.iter().find(|s| {
            let e = s.event_state();
            e.contains(State::PRESENT) && !e.contains(State::MUTE)
        }) {
            return Ok((s.name().to_owned(), s.atr().to_vec()));
        }
        if !first && Instant::now() >= deadline {
            return Err(CardError::NoCard);
        }
        if first && wait.is_zero() {
            return Err(CardError::NoCard);
        }
        first = false;
        for s in &mut states {
            s.sync_current_state();
        }
    }
}

impl PcscReader {
    /// After a failed or empty exchange: if the card has left (pcscd may take one poll to
    /// notice), that is what the user must fix; otherwise it is a reader problem.
    fn classify_failure(&self, detail: String) -> CardError {
        let deadline = Instant::now() + Duration::from_secs(1);
        while Instant::now() < deadline {
            if !self.card_present() {
                return CardError::CardRemoved;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        CardError::ReaderFailure(detail)
    }
}

impl Transport for PcscReader {
    fn transmit(&mut self, apdu: CheckedApdu<'_>) -> Result<Vec<u8>, CardError> {
        let mut buf = [0u8; pcsc::MAX_BUFFER_SIZE];
        match self.card.transmit(apdu.bytes(), &mut buf) {
            Ok(resp) if resp.len() >= 2 => Ok(resp.to_vec()),
            // vpcd answers a card lost mid-command with an empty response.
            Ok(_) => Err(self.classify_failure("empty response".into())),
            Err(pcsc::Error::RemovedCard | pcsc::Error::NoSmartcard | pcsc::Error::ResetCard) => {
                Err(CardError::CardRemoved)
            }
            Err(pcsc::Error::Timeout) => Err(CardError::Timeout),
            Err(e) => Err(self.classify_failure(e.to_string())),
        }
    }
}
