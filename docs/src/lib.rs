//! `houmon-docs`: the Automerge documents (ARCHITECTURE.md, *Documents*) — one per patient chart
//! ([`ChartDoc`]), one per roster month ([`RosterMonthDoc`]), one for the clinic ([`ClinicDoc`])
//! — and the rules that keep them mergeable and medical-record safe. Sans-IO: these types only
//! change and read documents in memory; `houmon-store` persists them.
//!
//! Every key and stored code is a constant of [`keys`], described in `docs/SCHEMA.md` (a test
//! keeps the two in step); never write a bare key string against a document.
//!
//! Layout rules that keep merges safe:
//! - every container a document needs is created in a deterministic genesis change (same actor,
//!   same time, same content), so two devices creating the same document produce the same
//!   first change instead of two competing root objects;
//! - records are keyed by fresh UUIDs, so one device creates each record's map;
//! - long note bodies are plain strings written at save time, not character-level text
//!   (load time grows with operation count; see reference/crdt_sync.md);
//! - concurrent writes to one field are kept by Automerge and surfaced as a
//!   [`houmon_model::FieldConflict`], never silently dropped.
//!
//! Must never: do I/O, delete a record, change a signed note (a correction is a new version),
//! drop a concurrent write silently, or keep a 個人番号 in free text.

mod audit;
mod chart;
mod clinic;
pub mod keys;
mod roster;
mod tree;

pub use audit::{AuditDoc, AuditRecord};
pub use chart::ChartDoc;
pub use chart::{care_end_code, care_end_from, id_document_code, kind_code, kind_from};
pub use clinic::ClinicDoc;
pub use roster::{RosterMonthDoc, month_key};
pub use roster::{status_code, status_from};

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, AutoCommit, ObjId, ObjType, ReadDoc, ScalarValue, ScalarValueRef, ValueRef};
use chrono::{DateTime, Utc};
use houmon_model::FieldConflict;
use houmon_model::error::{CoreError, Result};

/// A scalar read out of a document.
#[derive(Debug, Clone, PartialEq)]
pub enum Sv {
    Str(String),
    Int(i64),
    F64(f64),
    Bool(bool),
    Other,
}

impl Sv {
    fn from_ref(v: &ScalarValueRef<'_>) -> Sv {
        match v {
            ScalarValueRef::Str(s) => Sv::Str(s.to_string()),
            ScalarValueRef::Int(i) | ScalarValueRef::Timestamp(i) | ScalarValueRef::Counter(i) => Sv::Int(*i),
            ScalarValueRef::Uint(u) => Sv::Int(*u as i64),
            ScalarValueRef::F64(f) => Sv::F64(*f),
            ScalarValueRef::Boolean(b) => Sv::Bool(*b),
            _ => Sv::Other,
        }
    }
    fn from_value(v: &automerge::Value<'_>) -> Sv {
        match v {
            automerge::Value::Scalar(s) => match s.as_ref() {
                ScalarValue::Str(s) => Sv::Str(s.to_string()),
                ScalarValue::Int(i) | ScalarValue::Timestamp(i) => Sv::Int(*i),
                ScalarValue::Uint(u) => Sv::Int(*u as i64),
                ScalarValue::F64(f) => Sv::F64(*f),
                ScalarValue::Boolean(b) => Sv::Bool(*b),
                _ => Sv::Other,
            },
            automerge::Value::Object(_) => Sv::Other,
        }
    }
    pub fn render(&self) -> String {
        match self {
            Sv::Str(s) => s.clone(),
            Sv::Int(i) => i.to_string(),
            Sv::F64(f) => f.to_string(),
            Sv::Bool(b) => b.to_string(),
            Sv::Other => String::new(),
        }
    }
}

/// The scalar fields and child objects of one map, with conflicts noted.
/// A map's fields. A small vector beats a hash map here: maps have a dozen keys at most.
#[derive(Debug, Default)]
pub struct Fields {
    pub scalars: Vec<(String, Sv)>,
    pub objects: Vec<(String, ObjId)>,
}

impl Fields {
    fn get(&self, k: &str) -> Option<&Sv> {
        self.scalars.iter().find(|(key, _)| key == k).map(|(_, v)| v)
    }
    pub fn str(&self, k: &str) -> String {
        match self.get(k) {
            Some(Sv::Str(s)) => s.clone(),
            _ => String::new(),
        }
    }
    pub fn opt_str(&self, k: &str) -> Option<String> {
        match self.get(k) {
            Some(Sv::Str(s)) if !s.is_empty() => Some(s.clone()),
            _ => None,
        }
    }
    pub fn int(&self, k: &str) -> Option<i64> {
        match self.get(k) {
            Some(Sv::Int(i)) => Some(*i),
            Some(Sv::F64(f)) => Some(*f as i64),
            _ => None,
        }
    }
    pub fn bool(&self, k: &str) -> bool {
        matches!(self.get(k), Some(Sv::Bool(true)))
    }
    pub fn time(&self, k: &str) -> Option<DateTime<Utc>> {
        self.int(k).and_then(DateTime::from_timestamp_millis)
    }
    pub fn obj(&self, k: &str) -> Option<&ObjId> {
        self.objects.iter().find(|(key, _)| key == k).map(|(_, o)| o)
    }
}

/// Read one map. Conflicting keys are reported under `path/key`.
pub fn read_map(doc: &AutoCommit, obj: &ObjId, path: &str, conflicts: &mut Vec<FieldConflict>) -> Fields {
    let mut f = Fields::default();
    for item in doc.map_range(obj, ..) {
        let key = item.key.to_string();
        match &item.value {
            ValueRef::Object(_) => f.objects.push((key.clone(), item.id())),
            ValueRef::Scalar(s) => f.scalars.push((key.clone(), Sv::from_ref(s))),
        }
        if item.conflict {
            let values = doc
                .get_all(obj, key.as_str())
                .map(|all| all.iter().map(|(v, _)| Sv::from_value(v).render()).collect())
                .unwrap_or_default();
            conflicts.push(FieldConflict { path: if path.is_empty() { key } else { format!("{path}/{key}") }, values });
        }
    }
    f
}

/// Get the child map at `key`, or create it.
pub fn child_map(doc: &mut AutoCommit, parent: &ObjId, key: &str) -> Result<ObjId> {
    if let Some((automerge::Value::Object(ObjType::Map), id)) = doc.get(parent, key)? {
        return Ok(id);
    }
    Ok(doc.put_object(parent, key, ObjType::Map)?)
}

/// A map value for [`new_map`]: its fields, with nested maps built by `map` again.
pub fn map(fields: Vec<(&str, automerge::hydrate::Value)>) -> automerge::hydrate::Value {
    fields.into_iter().collect::<std::collections::HashMap<_, _>>().into()
}

/// A string field for [`map`] (owned or borrowed alike).
pub fn text(s: impl AsRef<str>) -> automerge::hydrate::Value {
    s.as_ref().into()
}

/// A boolean field for [`map`].
pub fn flag(b: bool) -> automerge::hydrate::Value {
    automerge::ScalarValue::Boolean(b).into()
}

/// Create the map `parent[key]` with all its fields (built by [`map`]) in one batch: two
/// op-set splices instead of one per field. A new note has ~12 fields, and on a chart of 200
/// visits each separate splice cost ~10 µs. The ops are the same as a `put_object` followed
/// by one `put` per field, so documents, merges and conflicts are unchanged.
pub fn new_map(doc: &mut AutoCommit, parent: &ObjId, key: &str, value: automerge::hydrate::Value) -> Result<ObjId> {
    Ok(doc.batch_create_object(parent, key, &value, false)?)
}

/// Get an existing child map or fail with NotFound.
pub fn existing_map(doc: &AutoCommit, parent: &ObjId, key: &str, what: &'static str) -> Result<ObjId> {
    match doc.get(parent, key)? {
        Some((automerge::Value::Object(ObjType::Map), id)) => Ok(id),
        _ => Err(CoreError::NotFound { what }),
    }
}

pub fn get_str(doc: &AutoCommit, obj: &ObjId, key: &str) -> Option<String> {
    match doc.get(obj, key).ok().flatten() {
        Some((v, _)) => match Sv::from_value(&v) {
            Sv::Str(s) => Some(s),
            _ => None,
        },
        None => None,
    }
}

pub fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// A genesis document: fixed actor and time derived from the document's id, so every device
/// that creates it produces the identical first change.
pub fn genesis(doc_id: &[u8; 16], build: impl FnOnce(&mut AutoCommit) -> Result<()>) -> Result<AutoCommit> {
    let mut actor = b"houmon-genesis--".to_vec();
    actor.extend_from_slice(doc_id);
    let mut doc = AutoCommit::new().with_actor(ActorId::from(actor));
    build(&mut doc)?;
    doc.commit_with(CommitOptions::default().with_time(0).with_message("genesis"));
    // Later local edits get a fresh actor of their own.
    doc.set_actor(ActorId::random());
    Ok(doc)
}

/// Commit pending operations with a message and time.
pub fn commit(doc: &mut AutoCommit, message: &str, at: DateTime<Utc>) {
    doc.commit_with(CommitOptions::default().with_message(message).with_time(at.timestamp()));
}

/// Navigate a `/`-separated path of map keys from the root.
pub fn resolve_path(doc: &AutoCommit, path: &str) -> Result<(ObjId, String)> {
    let mut parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let last = parts.pop().ok_or(CoreError::InvalidInput { field: "path", reason: "empty" })?;
    let mut obj = automerge::ROOT;
    for p in parts {
        obj = existing_map(doc, &obj, p, "path")?;
    }
    Ok((obj, last.to_string()))
}

/// Write `value` to a conflicted field, in the type of the values already there.
pub fn resolve_field(doc: &mut AutoCommit, path: &str, value: &str) -> Result<()> {
    let (obj, key) = resolve_path(doc, path)?;
    let existing = doc.get_all(&obj, key.as_str())?;
    let sample = existing.first().map(|(v, _)| Sv::from_value(v));
    let bad = CoreError::InvalidInput { field: "value", reason: "type" };
    match sample {
        Some(Sv::Int(_)) => {
            let v: i64 = value.parse().map_err(|_| bad)?;
            doc.put(&obj, key.as_str(), v)?;
        }
        Some(Sv::F64(_)) => {
            let v: f64 = value.parse().map_err(|_| bad)?;
            doc.put(&obj, key.as_str(), v)?;
        }
        Some(Sv::Bool(_)) => {
            let v: bool = value.parse().map_err(|_| bad)?;
            doc.put(&obj, key.as_str(), v)?;
        }
        _ => {
            doc.put(&obj, key.as_str(), value)?;
        }
    }
    Ok(())
}

/// A 12-digit number whose last digit is a valid 個人番号 check digit, written as one run of
/// digits or as the card prints it, in three groups of four (「1234 5678 9012」, with a space,
/// an ideographic space or a hyphen between), in ASCII or full-width digits. Such numbers are
/// refused in free text so that a 個人番号 is never stored (ARCHITECTURE.md, *Never the
/// 個人番号*).
pub fn contains_individual_number(text: &str) -> bool {
    let digit = |c: char| match c {
        '0'..='9' => Some(c as u8),
        '０'..='９' => Some(b'0' + (c as u32 - '０' as u32) as u8),
        _ => None,
    };
    let separator = |c: char| matches!(c, ' ' | '\u{3000}' | '-' | '‐' | '‑' | '−' | '－');
    // Each number in the text as its runs of digits, runs joined by exactly one separator.
    let mut runs: Vec<Vec<u8>> = Vec::new();
    let check = |runs: &mut Vec<Vec<u8>>| {
        let lens: Vec<usize> = runs.iter().map(Vec::len).collect();
        let found = runs.iter().any(|r| r.len() == 12 && individual_number_check_digit_ok(r))
            || (lens == [4, 4, 4] && individual_number_check_digit_ok(&runs.concat()));
        runs.clear();
        found
    };
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if let Some(d) = digit(c) {
            let joined = i > 0 && digit(chars[i - 1]).is_some();
            if !joined {
                runs.push(Vec::new());
            }
            if let Some(run) = runs.last_mut() {
                run.push(d);
            }
            continue;
        }
        let between = separator(c)
            && i > 0
            && digit(chars[i - 1]).is_some()
            && chars.get(i + 1).and_then(|&n| digit(n)).is_some();
        if !between && check(&mut runs) {
            return true;
        }
    }
    check(&mut runs)
}

fn individual_number_check_digit_ok(d: &[u8]) -> bool {
    // Digits P1..P11 counted from the right, excluding the check digit.
    let digits: Vec<u32> = d.iter().map(|c| (c - b'0') as u32).collect();
    let mut sum = 0;
    for n in 1..=11 {
        let p = digits[11 - n];
        let q = if n <= 6 { n as u32 + 1 } else { n as u32 - 5 };
        sum += p * q;
    }
    let r = sum % 11;
    let check = if r <= 1 { 0 } else { 11 - r };
    check == digits[11]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn individual_number_detected_by_check_digit() {
        // 12345678901x: compute the valid check digit and prove detection depends on it.
        let base = b"12345678901";
        let valid: Vec<String> = (0..10)
            .map(|c| format!("{}{}", std::str::from_utf8(base).unwrap(), c))
            .filter(|s| individual_number_check_digit_ok(s.as_bytes()))
            .collect();
        assert_eq!(valid.len(), 1);
        assert!(contains_individual_number(&format!("番号 {} です", valid[0])));
        let wrong = format!("{}{}", "12345678901", (valid[0].as_bytes()[11] - b'0' + 1) % 10);
        assert!(!contains_individual_number(&wrong));
        // Phone numbers and 13-digit runs are not flagged.
        assert!(!contains_individual_number("電話 09012345678"));
        assert!(!contains_individual_number(&format!("{}9", valid[0])));
        let fullwidth: String =
            valid[0].chars().map(|c| char::from_u32('０' as u32 + c.to_digit(10).unwrap()).unwrap()).collect();
        assert!(contains_individual_number(&fullwidth));
    }

    #[test]
    fn the_printed_form_in_three_groups_of_four_is_caught() {
        let base = b"12345678901";
        let n = (0..10u8).map(|c| [&base[..], &[b'0' + c]].concat()).find(|d| individual_number_check_digit_ok(d));
        let n = String::from_utf8(n.unwrap()).unwrap();
        let (a, b, c) = (&n[..4], &n[4..8], &n[8..]);
        let wide = |s: &str| -> String {
            s.chars().map(|c| c.to_digit(10).map_or(c, |d| char::from_u32('０' as u32 + d).unwrap())).collect()
        };
        for sep in [" ", "\u{3000}", "-", "－", "‐"] {
            let printed = format!("{a}{sep}{b}{sep}{c}");
            assert!(contains_individual_number(&format!("カード番号は{printed}です")), "{printed:?}");
            assert!(contains_individual_number(&wide(&printed)), "full width {printed:?}");
        }
        // Controls: the same digits with a wrong check digit, other groupings, longer numbers.
        let wrong = format!("{a} {b} {}{}", &c[..3], (c.as_bytes()[3] - b'0' + 1) % 10);
        assert!(!contains_individual_number(&wrong));
        assert!(!contains_individual_number(&format!("{a} {b} {c} 1234")), "a 16-digit card number");
        assert!(!contains_individual_number(&format!("{a}  {b}  {c}")), "two spaces: separate numbers");
        assert!(!contains_individual_number("血圧 1234 5678 と 9012"));
        assert!(!contains_individual_number("電話 090-1234-5678"));
    }
}
