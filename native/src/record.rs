//! What a trace saw, deduplicated by path: the operations, whether any succeeded, the file the
//! kernel actually opened, and which backend saw it. Shared by the ptrace loop and the
//! fanotify reader (behind a mutex).

use std::collections::{BTreeMap, BTreeSet};

use crate::json::{self, Value};

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Op {
    Exec,
    Open,
    Opendir,
    Stat,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Exec => "exec",
            Op::Open => "open",
            Op::Opendir => "opendir",
            Op::Stat => "stat",
        }
    }
}

#[derive(Default)]
struct Entry {
    ops: BTreeSet<Op>,
    found: bool,
    resolved: Option<String>,
    by_ptrace: bool,
    by_fanotify: bool,
}

#[derive(Default)]
pub struct Record {
    files: BTreeMap<String, Entry>,
    pub events: u64,
}

pub enum Seen {
    Ptrace,
    Fanotify,
}

impl Record {
    pub fn add(&mut self, path: String, op: Op, found: bool, resolved: Option<String>, seen: Seen) {
        self.events += 1;
        let entry = self.files.entry(path.clone()).or_default();
        entry.ops.insert(op);
        entry.found |= found;
        if let Some(r) = resolved {
            if r != path {
                entry.resolved = Some(r);
            }
        }
        match seen {
            Seen::Ptrace => entry.by_ptrace = true,
            Seen::Fanotify => entry.by_fanotify = true,
        }
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn to_json(&self) -> Value {
        Value::Arr(
            self.files
                .iter()
                .map(|(path, e)| {
                    let mut seen = Vec::new();
                    if e.by_ptrace {
                        seen.push(json::s("ptrace"));
                    }
                    if e.by_fanotify {
                        seen.push(json::s("fanotify"));
                    }
                    let mut fields = vec![
                        ("path", json::s(path.clone())),
                        ("ops", Value::Arr(e.ops.iter().map(|o| json::s(o.name())).collect())),
                        ("found", Value::Bool(e.found)),
                        ("seenBy", Value::Arr(seen)),
                    ];
                    if let Some(r) = &e.resolved {
                        fields.push(("resolved", json::s(r.clone())));
                    }
                    json::obj(fields)
                })
                .collect(),
        )
    }
}
