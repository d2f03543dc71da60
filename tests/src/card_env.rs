//! Puts a virtual card on vpcd's reader behind the real pcscd, so tests and benchmarks reach
//! it through the `pcsc` crate exactly as they would a USB reader's card.
//!
//! vpcd has one socket per slot, so users of slot 0 take an exclusive file lock: tests in
//! parallel threads or processes (nextest) wait their turn instead of colliding.

use std::fs::File;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use houmon_nfc::vpcd::{VPCD_PORT, VpcdBridge, VpcdOptions};
use houmon_nfc::{Card, CardError, PcscReader, VirtualCard, list_readers, reader_has_card};

/// vpcd's slot 0 as pcscd names it.
pub const VPCD_READER: &str = "Virtual PCD 00 00";

/// Whether pcscd is running with the vpcd driver. When it is not, prints why the caller is
/// skipped; under CI (`CI` set) a missing pcscd is a failure, never a skip.
pub fn pcscd_with_vpcd() -> bool {
    match list_readers() {
        Ok(r) if r.iter().any(|n| n == VPCD_READER) => true,
        other => {
            let why = format!(
                "pcscd with vsmartcard-vpcd is not available ({other:?}); run the tests through \
                 scripts/test-all.sh, which starts it"
            );
            assert!(std::env::var_os("CI").is_none(), "{why}");
            eprintln!("SKIPPED: {why}");
            false
        }
    }
}

/// A virtual card on the vpcd reader; removed (and the reader seen empty) on drop.
#[derive(Debug)]
pub struct PlacedCard {
    bridge: Option<VpcdBridge>,
    _slot: File,
}

impl PlacedCard {
    /// Places `card` on the reader. Returns `None` (reason printed) if pcscd is not available.
    pub fn place(card: VirtualCard, options: VpcdOptions) -> Option<Self> {
        if !pcscd_with_vpcd() {
            return None;
        }
        let slot = File::create(std::env::temp_dir().join("houmon-vpcd-slot0.lock")).expect("lock file");
        slot.lock().expect("exclusive lock on the vpcd slot");
        wait_until_empty();
        let mut placed = Self { bridge: None, _slot: slot };
        placed.put_back(card, options);
        Some(placed)
    }

    /// Connects to the card through pcscd, waiting for pcscd to notice it.
    pub fn connect(&self) -> Result<Card<PcscReader>, CardError> {
        Ok(Card::new(PcscReader::connect(Some(VPCD_READER), Duration::from_secs(10))?))
    }

    /// Takes the card off the reader and returns it (its PIN counters as they now are).
    pub fn remove(mut self) -> VirtualCard {
        self.take_out()
    }

    /// Takes the card off the reader, keeping the slot for [`PlacedCard::put_back`].
    pub fn take_out(&mut self) -> VirtualCard {
        let card = self.bridge.take().expect("card still placed").remove();
        wait_until_empty();
        card
    }

    /// Places a card again (after [`PlacedCard::take_out`]).
    pub fn put_back(&mut self, card: VirtualCard, options: VpcdOptions) {
        assert!(self.bridge.is_none(), "a card is already placed");
        let addr = SocketAddr::from(([127, 0, 0, 1], VPCD_PORT));
        self.bridge = Some(VpcdBridge::spawn(card, addr, options));
        // pcscd sees the card at its next poll of vpcd; callers expect it placed on return.
        let deadline = Instant::now() + Duration::from_secs(10);
        while reader_has_card(VPCD_READER) != Ok(true) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for PlacedCard {
    fn drop(&mut self) {
        if let Some(bridge) = self.bridge.take() {
            drop(bridge);
            wait_until_empty();
        }
    }
}

/// pcscd notices a removed vpcd card at its next poll; wait for that so the next user does not
/// connect to a card that is already gone.
fn wait_until_empty() {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if reader_has_card(VPCD_READER) == Ok(false) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
