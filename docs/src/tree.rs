//! A whole document's maps read in one sequential pass.
//!
//! Reading a chart with one `map_range` per object (≈1,000 objects for 200 visits) spent most of
//! its time seeking the op columns for each object again; `ReadDoc::iter` walks the columns once,
//! object after object. Keys and strings stay borrowed from the document until the caller copies
//! what it keeps (one copy, not two). Conflicts are found in the same pass.

use super::Sv;
use automerge::{AutoCommit, ObjId as ExId, ReadDoc, ScalarValueRef, ValueRef};
use chrono::{DateTime, Utc};
use houmon_model::FieldConflict;
use std::borrow::Cow;
use std::collections::HashMap;

/// One map of the document: its scalar fields and its child maps (by index into [`Tree`]).
#[derive(Debug, Default)]
pub struct Node<'a> {
    parent: Option<(usize, usize)>,
    scalars: Vec<(Cow<'a, str>, ScalarValueRef<'a>)>,
    children: Vec<(Cow<'a, str>, usize)>,
    /// Keys written concurrently, with every value kept (the winner is in `scalars`).
    conflicted: Vec<(Cow<'a, str>, Vec<Sv>)>,
}

impl<'a> Node<'a> {
    fn get(&self, k: &str) -> Option<&ScalarValueRef<'a>> {
        self.scalars.iter().find(|(key, _)| key == k).map(|(_, v)| v)
    }
    pub fn str(&self, k: &str) -> String {
        match self.get(k) {
            Some(ScalarValueRef::Str(s)) => s.to_string(),
            _ => String::new(),
        }
    }
    pub fn opt_str(&self, k: &str) -> Option<&str> {
        match self.get(k) {
            Some(ScalarValueRef::Str(s)) if !s.is_empty() => Some(s),
            _ => None,
        }
    }
    pub fn int(&self, k: &str) -> Option<i64> {
        match self.get(k) {
            Some(ScalarValueRef::Int(i) | ScalarValueRef::Timestamp(i) | ScalarValueRef::Counter(i)) => Some(*i),
            Some(ScalarValueRef::Uint(u)) => Some(*u as i64),
            Some(ScalarValueRef::F64(f)) => Some(*f as i64),
            _ => None,
        }
    }
    pub fn f64(&self, k: &str) -> Option<f64> {
        match self.get(k) {
            Some(ScalarValueRef::F64(f)) => Some(*f),
            _ => self.int(k).map(|i| i as f64),
        }
    }
    pub fn bool(&self, k: &str) -> bool {
        matches!(self.get(k), Some(ScalarValueRef::Boolean(true)))
    }
    pub fn time(&self, k: &str) -> Option<DateTime<Utc>> {
        self.int(k).and_then(DateTime::from_timestamp_millis)
    }
    /// The child map at `k`.
    pub fn child(&self, k: &str) -> Option<usize> {
        self.children.iter().find(|(key, _)| key == k).map(|(_, i)| *i)
    }
    /// Whether any of the values of `k` — the winner or one it conflicts with — is the string `v`.
    pub fn any_str_is(&self, k: &str, v: &str) -> bool {
        if let Some((_, all)) = self.conflicted.iter().find(|(key, _)| key == k) {
            return all.iter().any(|x| matches!(x, Sv::Str(s) if s == v));
        }
        matches!(self.get(k), Some(ScalarValueRef::Str(s)) if s == v)
    }
    /// Every child map with its key, in key order.
    pub fn children(&self) -> impl Iterator<Item = (&str, usize)> {
        self.children.iter().map(|(k, i)| (k.as_ref(), *i))
    }
}

/// Every map reachable from the root, read in one pass.
#[derive(Debug)]
pub struct Tree<'a> {
    nodes: Vec<Node<'a>>,
    /// Keys written concurrently (both values kept), with the values' renderings.
    pub conflicts: Vec<FieldConflict>,
}

impl<'a> Tree<'a> {
    /// Read `doc`. Only maps are expected in our documents; other objects are skipped.
    pub fn read(doc: &'a AutoCommit) -> Self {
        let mut nodes = vec![Node::default()];
        // Children are discovered (with their index) before the walk reaches them.
        let mut index: HashMap<ExId, usize> = HashMap::new();
        let mut pending_conflicts: Vec<(usize, Cow<'a, str>, ExId)> = Vec::new();
        let mut cur_obj: Option<std::sync::Arc<ExId>> = None;
        let mut cur = 0usize;
        for item in doc.iter() {
            if !cur_obj.as_ref().is_some_and(|o| std::sync::Arc::ptr_eq(o, &item.obj)) {
                cur =
                    if *item.obj == automerge::ROOT { 0 } else { index.get(&*item.obj).copied().unwrap_or(usize::MAX) };
                cur_obj = Some(item.obj.clone());
            }
            if cur == usize::MAX {
                continue;
            }
            let automerge::iter::DocItem::Map(m) = item.item else {
                continue;
            };
            if m.conflict {
                pending_conflicts.push((cur, m.key.clone(), (*item.obj).clone()));
            }
            match m.value {
                ValueRef::Object(automerge::ObjType::Map) => {
                    let child = nodes.len();
                    let pos = nodes[cur].children.len();
                    nodes.push(Node { parent: Some((cur, pos)), scalars: Vec::with_capacity(8), ..Node::default() });
                    index.insert(m.id(), child);
                    nodes[cur].children.push((m.key, child));
                }
                ValueRef::Object(_) => {}
                ValueRef::Scalar(s) => nodes[cur].scalars.push((m.key, s)),
            }
        }
        let mut tree = Tree { nodes, conflicts: Vec::new() };
        for (node, key, obj) in pending_conflicts {
            let all: Vec<Sv> = doc
                .get_all(&obj, key.as_ref())
                .map(|all| all.iter().map(|(v, _)| Sv::from_value(v)).collect())
                .unwrap_or_default();
            let path = tree.path(node);
            let path = if path.is_empty() { key.to_string() } else { format!("{path}/{key}") };
            tree.conflicts.push(FieldConflict { path, values: all.iter().map(Sv::render).collect() });
            tree.nodes[node].conflicted.push((key, all));
        }
        tree
    }

    pub fn root(&self) -> &Node<'a> {
        &self.nodes[0]
    }

    pub fn node(&self, i: usize) -> &Node<'a> {
        &self.nodes[i]
    }

    /// The child map of the root at `key`.
    pub fn container(&self, key: &str) -> Option<&Node<'a>> {
        self.root().child(key).map(|i| &self.nodes[i])
    }

    /// `/`-separated keys from the root to node `i` (the paths `resolve_conflict` takes).
    pub fn path(&self, mut i: usize) -> String {
        let mut keys = Vec::new();
        while let Some((parent, pos)) = self.nodes[i].parent {
            keys.push(self.nodes[parent].children[pos].0.as_ref());
            i = parent;
        }
        keys.reverse();
        keys.join("/")
    }
}
