//! The sync session without I/O: what the client knows (clinic, content key, device keys)
//! and the pure steps between network calls. Opening an entry checks its signature against
//! the device keys already known and never asks the relay; an entry from a device not yet
//! known is held, and the driver refreshes the device list and opens the held ones again.

use crate::seal::ContentKey;
use houmon_store::DocKind;
use houmon_sync_proto::http::HttpError;
use houmon_sync_proto::*;
use ring::signature::{ED25519, UnparsedPublicKey};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Plaintext inside an entry (never leaves the device unencrypted).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Payload {
    pub doc_id: String,
    /// Author's heads after these changes.
    pub heads: Vec<[u8; 32]>,
    /// Automerge change bytes, or a whole document for a snapshot.
    pub changes: Vec<u8>,
}

pub(crate) fn kind_of(doc_id: &str) -> Option<DocKind> {
    if doc_id.starts_with("chart:") {
        Some(DocKind::Chart)
    } else if doc_id.starts_with("roster:") {
        Some(DocKind::Roster)
    } else if doc_id == houmon_store::CLINIC_DOC_ID {
        Some(DocKind::Clinic)
    } else {
        None
    }
}

/// What the session asks of the relay: the HTTP relay in the app, an in-memory log in tests.
/// Verification never calls it; the driver does, between the pure steps.
pub trait Exchange {
    fn append(&mut self, req: &AppendRequest) -> Result<AppendResponse, HttpError>;
    fn pull(&mut self, req: &PullRequest) -> Result<PullResponse, HttpError>;
    fn devices(&mut self) -> Result<DevicesResponse, HttpError>;
    fn put_snapshot(&mut self, req: &PutSnapshotRequest) -> Result<bool, HttpError>;
}

/// What opening one entry or snapshot gave.
#[derive(Debug)]
pub(crate) enum Opened {
    Payload(Payload),
    /// Bad signature, failed decryption, or a payload for another document.
    Refused,
    /// Signed by a device not in the list: held until the list is refreshed.
    Held,
    /// Our own entry, already here.
    Own,
}

/// The keys a session checks and opens entries with.
#[derive(Debug)]
pub(crate) struct Session {
    pub clinic: ClinicId,
    pub content: ContentKey,
    pub device: DeviceId,
    devices: HashMap<DeviceId, [u8; 32]>,
}

impl Session {
    pub fn new(clinic: ClinicId, content: ContentKey, device: DeviceId) -> Self {
        Self { clinic, content, device, devices: HashMap::new() }
    }

    /// Replace the known device keys with the relay's list.
    pub fn set_devices(&mut self, r: DevicesResponse) {
        self.devices = r.devices.into_iter().map(|d| (d.device, d.public_key)).collect();
    }

    fn verify(&self, device: &DeviceId, msg: &[u8], sig: &[u8; 64]) -> Option<bool> {
        let pk = self.devices.get(device)?;
        Some(UnparsedPublicKey::new(&ED25519, pk).verify(msg, sig).is_ok())
    }

    /// Check an entry's author signature and open it.
    pub fn open_entry(&self, e: &Entry) -> Opened {
        let msg = entry_signing_bytes(&self.clinic, &e.doc, &e.device, &e.entry_id, &e.ciphertext);
        match self.verify(&e.device, &msg, &e.signature) {
            None => return Opened::Held,
            Some(false) => return Opened::Refused,
            Some(true) => {}
        }
        let Ok(plain) = self.content.open(&self.clinic, &e.doc, &e.ciphertext) else { return Opened::Refused };
        let Some(p) = decode::<Payload>(&plain) else { return Opened::Refused };
        // The relay cannot move an entry to another document: the id is bound by the key.
        if self.content.opaque_doc_id(&p.doc_id) != e.doc || kind_of(&p.doc_id).is_none() {
            return Opened::Refused;
        }
        Opened::Payload(p)
    }

    /// Snapshots are signed over their own bytes (binding `covers_seq`).
    pub fn open_snapshot(&self, s: &Snapshot) -> Opened {
        let msg = snapshot_signing_bytes(&self.clinic, &s.doc, &s.device, &s.entry_id, s.covers_seq, &s.ciphertext);
        match self.verify(&s.device, &msg, &s.signature) {
            None => return Opened::Held,
            Some(false) => return Opened::Refused,
            Some(true) => {}
        }
        match self.content.open(&self.clinic, &s.doc, &s.ciphertext).ok().and_then(|p| decode::<Payload>(&p)) {
            Some(p) if self.content.opaque_doc_id(&p.doc_id) == s.doc => Opened::Payload(p),
            _ => Opened::Refused,
        }
    }

    /// Open a pull answer: snapshots first, then entries, in the relay's order. Our own
    /// entries are skipped when `skip_own` (they are already here; fetching from the start
    /// after a purge or for a gap repair merges them again, harmlessly).
    pub fn open_pull(&self, resp: &PullResponse, skip_own: bool) -> Vec<Opened> {
        let snaps = resp.snapshots.iter().map(|s| self.open_snapshot(s));
        let entries = resp
            .entries
            .iter()
            .map(|e| if skip_own && e.device == self.device { Opened::Own } else { self.open_entry(e) });
        snaps.chain(entries).collect()
    }

    /// Open the held items of `opened` again (after the device list was refreshed); those
    /// still from an unknown device are refused.
    pub fn reopen_held(&self, resp: &PullResponse, opened: &mut [Opened]) {
        let n = resp.snapshots.len();
        for (i, o) in opened.iter_mut().enumerate() {
            if !matches!(o, Opened::Held) {
                continue;
            }
            let again =
                if i < n { self.open_snapshot(&resp.snapshots[i]) } else { self.open_entry(&resp.entries[i - n]) };
            *o = match again {
                Opened::Held => Opened::Refused,
                other => other,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::{Ed25519KeyPair, KeyPair};

    struct Author {
        key: Ed25519KeyPair,
        device: DeviceId,
    }

    impl Author {
        fn new(n: u8) -> Self {
            let pkcs8 = Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new()).expect("keygen");
            Self { key: Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("key"), device: DeviceId([n; 16]) }
        }
        fn info(&self) -> DeviceInfo {
            let mut public_key = [0u8; 32];
            public_key.copy_from_slice(self.key.public_key().as_ref());
            DeviceInfo { device: self.device, public_key, role: Role::Member, label: "t".into(), revoked: false }
        }
        fn entry(&self, s: &Session, doc_id: &str) -> Entry {
            let doc = s.content.opaque_doc_id(doc_id);
            let p = Payload { doc_id: doc_id.into(), heads: vec![[1; 32]], changes: vec![1, 2, 3] };
            let ciphertext = s.content.seal(&s.clinic, &doc, &encode(&p)).expect("seal");
            let entry_id = EntryId([7; 16]);
            let sig = self.key.sign(&entry_signing_bytes(&s.clinic, &doc, &self.device, &entry_id, &ciphertext));
            let mut signature = [0u8; 64];
            signature.copy_from_slice(sig.as_ref());
            Entry { seq: 1, doc, device: self.device, entry_id, signature, ciphertext }
        }
    }

    fn session() -> Session {
        Session::new(ClinicId([9; 16]), ContentKey::from_bytes([3; 32]), DeviceId([1; 16]))
    }

    #[test]
    fn an_entry_from_an_unknown_device_is_held_then_opened_once_the_list_knows_it() {
        let mut s = session();
        let a = Author::new(2);
        let resp = PullResponse { entries: vec![a.entry(&s, "chart:x")], snapshots: vec![], cursor: 1, more: false };
        let mut opened = s.open_pull(&resp, true);
        assert!(matches!(opened[..], [Opened::Held]), "{opened:?}");
        s.set_devices(DevicesResponse { devices: vec![a.info()] });
        s.reopen_held(&resp, &mut opened);
        assert!(matches!(&opened[..], [Opened::Payload(p)] if p.doc_id == "chart:x"), "{opened:?}");
    }

    #[test]
    fn still_unknown_after_a_refresh_bad_signatures_and_moved_entries_are_refused() {
        let mut s = session();
        let (a, stranger) = (Author::new(2), Author::new(3));
        s.set_devices(DevicesResponse { devices: vec![a.info()] });
        let mut forged = a.entry(&s, "chart:x");
        forged.signature[0] ^= 1;
        let mut moved = a.entry(&s, "chart:x");
        moved.doc = s.content.opaque_doc_id("chart:y");
        let unknown_kind = a.entry(&s, "other");
        let own = Author::new(1).entry(&s, "chart:x");
        let resp = PullResponse {
            entries: vec![forged, moved, unknown_kind, stranger.entry(&s, "chart:x"), own, a.entry(&s, "chart:x")],
            snapshots: vec![],
            cursor: 6,
            more: false,
        };
        let mut opened = s.open_pull(&resp, true);
        s.reopen_held(&resp, &mut opened);
        assert!(
            matches!(
                &opened[..],
                [Opened::Refused, Opened::Refused, Opened::Refused, Opened::Refused, Opened::Own, Opened::Payload(_)]
            ),
            "{opened:?}"
        );
    }
}
