//! The transport seam: APDU bytes in, response bytes out. Implementations: PC/SC
//! ([`crate::PcscReader`]), the in-process virtual card ([`crate::VirtualTransport`]); the
//! vpcd bridge serves the virtual card to pcscd so it is reached through PC/SC like a real one.

use crate::CardError;
use crate::firewall::CheckedApdu;

/// Sends one command APDU and returns the response APDU (data ‖ SW1 SW2).
///
/// Only [`CheckedApdu`]s can be sent: the firewall sits below every transport.
pub trait Transport {
    fn transmit(&mut self, apdu: CheckedApdu<'_>) -> Result<Vec<u8>, CardError>;
}

impl<T: Transport + ?Sized> Transport for &mut T {
    fn transmit(&mut self, apdu: CheckedApdu<'_>) -> Result<Vec<u8>, CardError> {
        (**self).transmit(apdu)
    }
}

impl<T: Transport + ?Sized> Transport for Box<T> {
    fn transmit(&mut self, apdu: CheckedApdu<'_>) -> Result<Vec<u8>, CardError> {
        (**self).transmit(apdu)
    }
}
