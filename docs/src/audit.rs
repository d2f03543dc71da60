//! A device's access history (監査ログ) as a document, so it reaches the back office and
//! outlives a wipe of the device. Only its own device writes it (the sync client refuses an
//! entry for `audit:‹device›` signed by any other device); entries are appended, never changed.

use super::{commit, existing_map, genesis, map, new_map, text};
use crate::keys::audit as key;
use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjType, ROOT, ReadDoc};
use chrono::{DateTime, Utc};
use houmon_model::error::Result;

/// One published entry of a device's hash-chained log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub seq: i64,
    /// ms since the epoch
    pub at: i64,
    pub staff: String,
    pub action: String,
    pub target: String,
    pub detail: String,
    /// The entry's chain hash on its device (hex): a later copy that differs is not taken.
    pub hash: String,
}

/// `audit:‹device›`: one device's published access history.
#[derive(Debug)]
pub struct AuditDoc {
    doc: AutoCommit,
}

/// Record keys sort in seq order.
fn record_key(seq: i64) -> String {
    format!("{seq:012}")
}

impl AuditDoc {
    /// A new history for `device` (deterministic genesis per device).
    pub fn create(device: &str) -> Result<Self> {
        let mut id = [0u8; 16];
        let digest = ring::digest::digest(&ring::digest::SHA256, format!("audit:{device}").as_bytes());
        id.copy_from_slice(&digest.as_ref()[..16]);
        let doc = genesis(&id, |d| {
            d.put(ROOT, key::TYPE, key::DOC_TYPE)?;
            d.put(ROOT, key::VERSION, 1_i64)?;
            d.put(ROOT, key::DEVICE, device)?;
            d.put_object(ROOT, key::ENTRIES, ObjType::Map)?;
            Ok(())
        })?;
        Ok(Self { doc })
    }

    pub fn from_automerge(doc: AutoCommit) -> Self {
        Self { doc }
    }

    pub fn automerge(&mut self) -> &mut AutoCommit {
        &mut self.doc
    }

    pub fn into_automerge(self) -> AutoCommit {
        self.doc
    }

    /// Append entries (those already present are left as they are).
    pub fn append(&mut self, records: &[AuditRecord], at: DateTime<Utc>) -> Result<()> {
        let entries = existing_map(&self.doc, &ROOT, key::ENTRIES, "audit")?;
        for r in records {
            let k = record_key(r.seq);
            if self.doc.get(&entries, &k)?.is_some() {
                continue;
            }
            let fields = vec![
                (key::AT, automerge::ScalarValue::Int(r.at).into()),
                (key::STAFF, text(&r.staff)),
                (key::ACTION, text(&r.action)),
                (key::TARGET, text(&r.target)),
                (key::DETAIL, text(&r.detail)),
                (key::HASH, text(&r.hash)),
            ];
            new_map(&mut self.doc, &entries, &k, map(fields))?;
        }
        commit(&mut self.doc, "audit", at);
        Ok(())
    }

    /// Every entry, in seq order.
    pub fn read(&self) -> Result<Vec<AuditRecord>> {
        let tree = super::tree::Tree::read(&self.doc);
        let Some(entries) = tree.container(key::ENTRIES) else { return Ok(Vec::new()) };
        let mut out = Vec::new();
        for (k, i) in entries.children() {
            let f = tree.node(i);
            let Ok(seq) = k.parse::<i64>() else { continue };
            out.push(AuditRecord {
                seq,
                at: f.int(key::AT).unwrap_or_default(),
                staff: f.str(key::STAFF),
                action: f.str(key::ACTION),
                target: f.str(key::TARGET),
                detail: f.str(key::DETAIL),
                hash: f.str(key::HASH),
            });
        }
        out.sort_by_key(|r| r.seq);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_appended_once_and_read_in_order() {
        let mut d = AuditDoc::create("00ff").expect("doc");
        let rec = |seq: i64, detail: &str| AuditRecord {
            seq,
            at: seq * 1000,
            staff: "s".into(),
            action: "view".into(),
            target: "chart:x".into(),
            detail: detail.into(),
            hash: format!("h{seq}"),
        };
        d.append(&[rec(2, "b"), rec(1, "a")], Utc::now()).expect("append");
        // A later copy of entry 1 does not replace it.
        d.append(&[rec(1, "changed"), rec(3, "c")], Utc::now()).expect("append");
        let got: Vec<(i64, String)> = d.read().expect("read").into_iter().map(|r| (r.seq, r.detail)).collect();
        assert_eq!(got, vec![(1, "a".into()), (2, "b".into()), (3, "c".into())]);
    }
}
