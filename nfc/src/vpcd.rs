//! Serves a [`VirtualCard`] to pcscd through vsmartcard's vpcd driver, so the virtual card is
//! reached through the real PC/SC stack exactly as a USB reader's card would be.
//!
//! vpcd listens on TCP (35963 for slot 0); we connect as the "card". Every message both ways is
//! a big-endian u16 length and that many bytes; a 1-byte message is control (00 power off,
//! 01 power on, 02 reset, 04 get ATR), anything longer is an APDU. Closing the connection is
//! removing the card.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::virtual_card::{ATR, VirtualCard};

/// vpcd's default port for reader slot 0 (`Virtual PCD 00 00`).
pub const VPCD_PORT: u16 = 35963;

/// What to do while serving.
#[derive(Debug, Clone, Copy, Default)]
pub struct VpcdOptions {
    /// Pull the card out (close the connection) when this many APDUs have been answered,
    /// leaving the next one unanswered: a card removed mid-operation.
    pub remove_after_apdus: Option<u32>,
}

/// Why serving ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServeEnd {
    /// [`VpcdBridge::remove`] was called (or the stop flag was set).
    Stopped,
    /// The configured removal happened.
    Removed,
}

/// Serves `card` on vpcd at `addr` until `stop` is set or the removal option fires.
/// Reconnects when vpcd goes away (pcscd restarted) and retries while it is not up yet.
pub fn serve(
    card: &mut VirtualCard,
    addr: SocketAddr,
    options: VpcdOptions,
    stop: &AtomicBool,
    current: &Mutex<Option<TcpStream>>,
) -> io::Result<ServeEnd> {
    let mut answered = 0u32;
    while !stop.load(Ordering::SeqCst) {
        let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
            std::thread::sleep(Duration::from_millis(100));
            continue;
        };
        stream.set_nodelay(true)?;
        if let Ok(mut c) = current.lock() {
            *c = Some(stream.try_clone()?);
        }
        if stop.load(Ordering::SeqCst) {
            break; // remove() ran between connect and publishing the stream
        }
        card.reset();
        loop {
            let mut len = [0u8; 2];
            if stream.read_exact(&mut len).is_err() {
                break;
            }
            quick_ack(&stream);
            let mut msg = vec![0u8; usize::from(u16::from_be_bytes(len))];
            if stream.read_exact(&mut msg).is_err() {
                break;
            }
            let reply = match msg.as_slice() {
                [0x00] => None,
                [0x01 | 0x02] => {
                    card.reset();
                    None
                }
                [0x04] => Some(ATR.to_vec()),
                [_] => None,
                apdu => {
                    if options.remove_after_apdus.is_some_and(|n| answered >= n) {
                        let _ = stream.shutdown(Shutdown::Both);
                        return Ok(ServeEnd::Removed);
                    }
                    answered += 1;
                    Some(card.process(apdu))
                }
            };
            if let Some(reply) = reply {
                let mut framed = (reply.len() as u16).to_be_bytes().to_vec();
                framed.extend_from_slice(&reply);
                if stream.write_all(&framed).is_err() {
                    break;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(ServeEnd::Stopped)
}

/// vpcd writes a message's length and body in two sends; with Nagle on its side and delayed
/// ACKs on ours each APDU would wait ~40 ms for an ACK, so acknowledge at once. (Linux only;
/// elsewhere it is merely slower.)
fn quick_ack(stream: &TcpStream) {
    #[cfg(target_os = "linux")]
    let _ = socket2::SockRef::from(stream).set_tcp_quickack(true);
    #[cfg(not(target_os = "linux"))]
    let _ = stream;
}

/// A virtual card placed on vpcd's reader from a background thread.
#[derive(Debug)]
pub struct VpcdBridge {
    stop: Arc<AtomicBool>,
    current: Arc<Mutex<Option<TcpStream>>>,
    thread: Option<JoinHandle<(VirtualCard, io::Result<ServeEnd>)>>,
}

impl VpcdBridge {
    /// Places `card` on the vpcd reader at `addr` (e.g. `127.0.0.1:35963`).
    pub fn spawn(mut card: VirtualCard, addr: SocketAddr, options: VpcdOptions) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let current = Arc::new(Mutex::new(None));
        let (s, c) = (Arc::clone(&stop), Arc::clone(&current));
        let thread = std::thread::spawn(move || {
            let end = serve(&mut card, addr, options, &s, &c);
            (card, end)
        });
        Self { stop, current, thread: Some(thread) }
    }

    /// Takes the card off the reader and returns it (with its counters as they are now).
    pub fn remove(mut self) -> VirtualCard {
        self.stop_and_join().expect("bridge thread holds the card")
    }

    fn stop_and_join(&mut self) -> Option<VirtualCard> {
        self.stop.store(true, Ordering::SeqCst);
        if let Ok(mut c) = self.current.lock()
            && let Some(s) = c.take()
        {
            let _ = s.shutdown(Shutdown::Both);
        }
        self.thread.take().and_then(|t| t.join().ok()).map(|(card, _)| card)
    }
}

impl Drop for VpcdBridge {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}
