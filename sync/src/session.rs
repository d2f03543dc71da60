//! The sync session without network I/O: what the client knows (clinic, content key, device
//! keys) and the steps between network calls (pure, or touching only the local store). Opening an entry checks its signature against
//! the device keys already known and never asks the relay; an entry from a device not yet
//! known is held, and the driver refreshes the device list and opens the held ones again.
//! The rest is local too: outbox rows to append requests, merging opened payloads, finding
//! documents with announced heads missing (gaps, withheld entries). `SyncClient` is the
//! driver: it moves requests and answers through an [`Exchange`] between these steps.

use crate::seal::ContentKey;
use crate::{SyncReport, SyncResult};
use automerge::{AutoCommit, ChangeHash};
use houmon_model::{Actor, CoreError};
use houmon_store::DocKind;
use houmon_store::Store;
use houmon_store::sync_state::QueuedEntry;
use houmon_sync_proto::http::HttpError;
use houmon_sync_proto::*;
use ring::signature::{ED25519, UnparsedPublicKey};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

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
    } else if doc_id.starts_with("audit:") {
        Some(DocKind::Audit)
    } else {
        None
    }
}

/// A device's access history (`audit:‹device›`) is written by that device alone: an entry
/// for it signed by any other device is refused, so no device rewrites another's history.
fn may_write(author: &DeviceId, doc_id: &str) -> bool {
    match doc_id.strip_prefix("audit:") {
        Some(owner) => owner == author.to_hex(),
        None => true,
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

pub(crate) fn heads_bytes(h: &[ChangeHash]) -> Vec<u8> {
    let mut v: Vec<[u8; 32]> = h.iter().map(|c| c.0).collect();
    v.sort();
    v.concat()
}

pub(crate) fn heads_from(b: &[u8]) -> Vec<ChangeHash> {
    b.chunks_exact(32)
        .map(|c| {
            let mut a = [0u8; 32];
            a.copy_from_slice(c);
            ChangeHash(a)
        })
        .collect()
}

/// The next append request from an outbox batch, with the last row to acknowledge and the
/// number of entries. `None`: the outbox is empty.
pub(crate) fn append_request(rows: Vec<(i64, QueuedEntry)>) -> Option<(AppendRequest, i64, usize)> {
    let (last, n) = (rows.last()?.0, rows.len());
    let entries = rows
        .into_iter()
        .map(|(_, e)| NewEntry {
            doc: DocId(e.doc),
            entry_id: EntryId(e.entry_id),
            signature: e.signature,
            ciphertext: e.body,
        })
        .collect();
    Some((AppendRequest { entries }, last, n))
}

/// The changes' share of one entry: half the relay's limit leaves room for sealing, encoding
/// and the heads, so a packed entry is never refused for its size.
pub(crate) const ENTRY_CHANGE_BYTES: usize = MAX_ENTRY_BYTES / 2;

/// The changes of one entry, and the document's heads once they are applied (what the entry
/// announces, so a receiver can tell a missing entry from one not sent yet).
#[derive(Debug)]
pub(crate) struct Chunk {
    pub changes: Vec<u8>,
    pub heads: Vec<ChangeHash>,
}

/// Pack unsent changes (in causal order, after `base`) into chunks of at most `budget` bytes;
/// a single change above the budget goes alone (the relay may refuse it: it is then set aside,
/// never blocking the rest). One entry per document round was the fault: a day offline made
/// an entry over the limit, refused for good, and everything behind it waited forever.
pub(crate) fn pack_changes(base: &[ChangeHash], changes: Vec<automerge::Change>, budget: usize) -> Vec<Chunk> {
    let mut heads: Vec<ChangeHash> = base.to_vec();
    let mut chunks: Vec<Chunk> = Vec::new();
    let mut current: Vec<u8> = Vec::new();
    for mut c in changes {
        let bytes = c.bytes();
        if !current.is_empty() && current.len() + bytes.len() > budget {
            chunks.push(Chunk { changes: std::mem::take(&mut current), heads: heads.clone() });
        }
        current.extend_from_slice(&bytes);
        heads.retain(|h| !c.deps().contains(h));
        heads.push(c.hash());
    }
    if !current.is_empty() {
        chunks.push(Chunk { changes: current, heads });
    }
    chunks
}

/// A refusal no retry can cure (the entry is too large for this relay): `Some(code)` to record.
pub(crate) fn refused_for_good(e: &HttpError) -> Option<&'static str> {
    match e.code()? {
        ErrorCode::EntryTooLarge => Some("entry_too_large"),
        ErrorCode::BodyTooLarge => Some("body_too_large"),
        _ => None,
    }
}

/// "Everything after `cursor`" for the subscribed documents (`None`: all).
pub(crate) fn catch_up_request(cursor: u64, docs: Option<Vec<DocId>>) -> PullRequest {
    PullRequest { after: cursor, docs, max_bytes: 8 << 20, with_snapshots: cursor == 0 }
}

/// Count what a pull answer gave and keep the payloads to merge.
pub(crate) fn accept(resp: &PullResponse, opened: Vec<Opened>, report: &mut SyncReport) -> Vec<Payload> {
    report.received += resp.entries.len();
    let mut payloads = Vec::new();
    for o in opened {
        match o {
            Opened::Payload(p) => payloads.push(p),
            Opened::Refused | Opened::Held => report.rejected += 1,
            Opened::Unreadable => {
                report.rejected += 1;
                report.unreadable += 1;
            }
            Opened::Own => {}
        }
    }
    payloads
}

/// Documents to fetch again: those missing heads after this catch-up, and those still
/// missing them from an earlier round (the cursor has moved past what the relay withheld).
pub(crate) fn to_refetch(mut missing: Vec<String>, suspects: Vec<String>) -> Vec<String> {
    missing.extend(suspects);
    missing.sort();
    missing.dedup();
    missing
}

/// After refetching `doc_id`: repaired, or withheld (still missing heads, or nothing came).
pub(crate) fn repair_outcome(doc_id: String, still: &[String], applied_before: usize, report: &mut SyncReport) {
    if still.contains(&doc_id) || report.applied_docs == applied_before {
        report.withheld.push(doc_id);
    } else {
        report.gaps_repaired.push(doc_id);
    }
}

/// Merge opened payloads: one store transaction per document, then check that every head
/// an author announced is now present. Returns the documents with missing heads.
pub(crate) fn apply(
    actor: &Actor,
    store: &mut Store,
    payloads: Vec<Payload>,
    report: &mut SyncReport,
) -> SyncResult<Vec<String>> {
    let mut order: Vec<String> = Vec::new();
    let mut by_doc: HashMap<String, (Vec<u8>, HashSet<[u8; 32]>)> = HashMap::new();
    for p in payloads {
        let e = by_doc.entry(p.doc_id.clone()).or_insert_with(|| {
            order.push(p.doc_id.clone());
            (Vec::new(), HashSet::new())
        });
        e.0.extend_from_slice(&p.changes);
        e.1.extend(p.heads);
    }
    let mut missing = Vec::new();
    for doc_id in order {
        let Some((bytes, announced)) = by_doc.remove(&doc_id) else { continue };
        let Some(kind) = kind_of(&doc_id) else { continue };
        let before = store.sync_sent_heads(&doc_id)?;
        let local_before = match store.doc_heads(&doc_id) {
            Ok(h) => Some(h),
            Err(CoreError::NotFound { .. }) => None,
            Err(e) => return Err(e.into()),
        };
        store.apply_remote(actor, &doc_id, kind, &bytes)?;
        report.applied_docs += 1;
        let after = store.doc_heads(&doc_id)?;
        // Nothing local was pending for this document: what we now hold came from the
        // relay, so it need not be uploaded again.
        let nothing_pending = match (&before, &local_before) {
            (Some(b), Some(l)) => *b == heads_bytes(l),
            (None, None) => true,
            _ => false,
        };
        if nothing_pending {
            store.set_sync_sent_heads(&doc_id, &heads_bytes(&after))?;
        }
        let after_set: HashSet<[u8; 32]> = after.iter().map(|h| h.0).collect();
        if announced.iter().all(|h| after_set.contains(h)) {
            continue;
        }
        // Some announced heads are not our heads: they must at least be in the history.
        let all = store.changes_since(&doc_id, &[])?;
        let mut full = AutoCommit::load(&all).map_err(CoreError::from)?;
        if announced.iter().any(|h| full.get_change_by_hash(&ChangeHash(*h)).is_none()) {
            missing.push(doc_id);
        }
    }
    Ok(missing)
}

/// What opening one entry or snapshot gave.
#[derive(Debug)]
pub(crate) enum Opened {
    Payload(Payload),
    /// Bad signature, a payload that does not decode, or one for another document.
    Refused,
    /// Signed by a device of the clinic but not sealed with our content key: that device (or
    /// this one) holds another key. Counted and shown, never silently dropped.
    Unreadable,
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
        let Ok(plain) = self.content.open(&self.clinic, &e.doc, &e.ciphertext) else { return Opened::Unreadable };
        let Some(p) = decode::<Payload>(&plain) else { return Opened::Refused };
        // The relay cannot move an entry to another document: the id is bound by the key.
        if self.content.opaque_doc_id(&p.doc_id) != e.doc || kind_of(&p.doc_id).is_none() {
            return Opened::Refused;
        }
        if !may_write(&e.device, &p.doc_id) {
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
        let Ok(plain) = self.content.open(&self.clinic, &s.doc, &s.ciphertext) else { return Opened::Unreadable };
        match decode::<Payload>(&plain) {
            Some(p) if self.content.opaque_doc_id(&p.doc_id) == s.doc && may_write(&s.device, &p.doc_id) => {
                Opened::Payload(p)
            }
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

    /// Fetch a whole document again: fills gaps left by lost or reordered entries.
    pub fn repair_request(&self, doc_id: &str) -> PullRequest {
        PullRequest {
            after: 0,
            docs: Some(vec![self.content.opaque_doc_id(doc_id)]),
            max_bytes: 64 << 20,
            with_snapshots: false,
        }
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
            DeviceInfo {
                device: self.device,
                public_key,
                role: Role::Member,
                label: "t".into(),
                revoked: false,
                last_seen_ms: None,
            }
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

    /// A document with `n` changes of `size` bytes of text that does not compress (seeded).
    fn doc_with_changes(n: usize, size: usize) -> (AutoCommit, Vec<ChangeHash>) {
        use automerge::transaction::Transactable;
        let mut doc = AutoCommit::new();
        doc.put(automerge::ROOT, "start", 0).expect("put");
        let base = doc.get_heads();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for i in 0..n {
            let text: String = (0..size)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    char::from(b'A' + (x % 26) as u8)
                })
                .collect();
            doc.put(automerge::ROOT, format!("k{i}"), text).expect("put");
            doc.commit();
        }
        (doc, base)
    }

    fn sorted(mut h: Vec<ChangeHash>) -> Vec<ChangeHash> {
        h.sort();
        h
    }

    #[test]
    fn unsent_changes_split_below_the_budget_and_each_chunk_announces_the_heads_after_it() {
        let (mut doc, base) = doc_with_changes(10, 3_000);
        let chunks = pack_changes(&base, doc.get_changes(&base), 8_000);
        assert!(chunks.len() >= 3, "ten changes of ~1.8 KB compressed in 8 KB chunks, got {}", chunks.len());
        // A receiver that has the base applies the chunks one by one: after each, its heads are
        // exactly what the chunk announced; after the last, the sender's heads.
        let mut rx = AutoCommit::new();
        for c in doc.get_changes(&[]).into_iter().filter(|c| base.contains(&c.hash())) {
            rx.apply_changes([c]).expect("base");
        }
        assert_eq!(sorted(rx.get_heads()), sorted(base.clone()));
        for c in &chunks {
            assert!(c.changes.len() <= 8_000, "a chunk of {} bytes", c.changes.len());
            rx.load_incremental(&c.changes).expect("apply chunk");
            assert_eq!(sorted(rx.get_heads()), sorted(c.heads.clone()));
        }
        assert_eq!(sorted(rx.get_heads()), sorted(doc.get_heads()));
    }

    #[test]
    fn a_change_above_the_budget_goes_alone() {
        let (mut doc, base) = doc_with_changes(3, 20_000);
        let chunks = pack_changes(&base, doc.get_changes(&base), 8_000);
        assert_eq!(chunks.len(), 3, "each oversized change in its own chunk");
        assert!(chunks.iter().all(|c| c.changes.len() > 8_000));
        assert_eq!(sorted(chunks[2].heads.clone()), sorted(doc.get_heads()));
        assert!(pack_changes(&base, Vec::new(), 8_000).is_empty(), "nothing to send, no entry");
    }

    #[test]
    fn outbox_rows_become_one_append_request_acknowledged_up_to_the_last_row() {
        assert!(append_request(Vec::new()).is_none());
        let row =
            |id: i64, b: u8| (id, QueuedEntry { doc: [b; 16], entry_id: [b; 16], signature: [b; 64], body: vec![b] });
        let (req, last, n) = append_request(vec![row(4, 1), row(9, 2)]).expect("request");
        assert_eq!((last, n), (9, 2));
        assert_eq!(req.entries.iter().map(|e| e.ciphertext.clone()).collect::<Vec<_>>(), vec![vec![1], vec![2]]);
    }

    #[test]
    fn a_refetch_that_brings_nothing_or_leaves_heads_missing_means_withheld() {
        let docs = to_refetch(vec!["chart:b".into(), "chart:a".into()], vec!["chart:b".into(), "chart:c".into()]);
        assert_eq!(docs, ["chart:a", "chart:b", "chart:c"]);
        let mut r = SyncReport { applied_docs: 3, ..Default::default() };
        repair_outcome("chart:a".into(), &[], 2, &mut r);
        repair_outcome("chart:b".into(), &["chart:b".into()], 2, &mut r);
        repair_outcome("chart:c".into(), &[], 3, &mut r);
        assert_eq!(r.gaps_repaired, ["chart:a"]);
        assert_eq!(r.withheld, ["chart:b", "chart:c"]);
    }

    #[test]
    fn only_a_device_itself_writes_its_access_history() {
        let mut s = session();
        let (a, b) = (Author::new(2), Author::new(3));
        s.set_devices(DevicesResponse { devices: vec![a.info(), b.info()] });
        let own_history = format!("audit:{}", a.device.to_hex());
        let resp = PullResponse {
            // b writes into a's history (refused); a writes its own (opened).
            entries: vec![b.entry(&s, &own_history), a.entry(&s, &own_history)],
            snapshots: vec![],
            cursor: 2,
            more: false,
        };
        let opened = s.open_pull(&resp, true);
        assert!(matches!(&opened[..], [Opened::Refused, Opened::Payload(p)] if p.doc_id == own_history), "{opened:?}");
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
    fn an_entry_sealed_with_another_content_key_is_unreadable_and_counted() {
        let mut s = session();
        let a = Author::new(2);
        s.set_devices(DevicesResponse { devices: vec![a.info()] });
        let other = Session::new(s.clinic, ContentKey::from_bytes([4; 32]), DeviceId([1; 16]));
        let mut foreign = a.entry(&other, "chart:x");
        // Same document under our key, so only the seal differs.
        foreign.doc = s.content.opaque_doc_id("chart:x");
        let msg = entry_signing_bytes(&s.clinic, &foreign.doc, &a.device, &foreign.entry_id, &foreign.ciphertext);
        foreign.signature.copy_from_slice(a.key.sign(&msg).as_ref());
        let resp =
            PullResponse { entries: vec![foreign, a.entry(&s, "chart:x")], snapshots: vec![], cursor: 2, more: false };
        let opened = s.open_pull(&resp, true);
        assert!(matches!(&opened[..], [Opened::Unreadable, Opened::Payload(_)]), "{opened:?}");
        let mut report = SyncReport::default();
        assert_eq!(accept(&resp, opened, &mut report).len(), 1);
        assert_eq!((report.unreadable, report.rejected), (1, 1));
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
