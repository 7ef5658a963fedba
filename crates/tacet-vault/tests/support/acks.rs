//! Parsing the crash worker's acknowledgements and checking a reopened
//! vault against them.

#![allow(dead_code)]

use super::fixture;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::str::FromStr;
use tacet_core::ports::SessionStore;
use tacet_core::{SessionId, SessionState};
use tacet_crypto::Passphrase;
use tacet_vault::Vault;

#[derive(Default, Debug)]
pub struct Acks {
    pub created: BTreeSet<SessionId>,
    pub audio: BTreeMap<SessionId, u64>,
    pub transcript: BTreeSet<SessionId>,
    pub draft: BTreeSet<SessionId>,
    pub attest: BTreeSet<SessionId>,
    pub export: BTreeSet<SessionId>,
    pub destroy_begun: BTreeSet<SessionId>,
    pub destroyed: BTreeSet<SessionId>,
    pub total: u64,
    /// The last line each run printed: where the kill landed.
    pub last_steps: BTreeMap<String, u64>,
}

impl Acks {
    /// Reads complete lines only (a line cut by the kill is ignored).
    /// Returns an `ERR` line if the worker printed one.
    pub fn absorb(&mut self, out: &str) -> Option<String> {
        let complete = match out.rfind('\n') {
            Some(i) => &out[..=i],
            None => "",
        };
        let mut last = "start".to_string();
        for line in complete.lines() {
            let mut w = line.split_whitespace();
            let (kind, step, arg, n) = (w.next(), w.next(), w.next(), w.next());
            if kind == Some("ERR") {
                return Some(line.to_string());
            }
            let Some(id) = arg.and_then(|a| SessionId::from_str(a).ok()) else {
                if kind == Some("ACK") {
                    self.total += 1;
                    last = format!("after {}", step.unwrap_or("?"));
                }
                continue;
            };
            last = format!(
                "{} {}",
                if kind == Some("ACK") {
                    "after"
                } else {
                    "during"
                },
                step.unwrap_or("?")
            );
            if kind == Some("BEGIN") {
                self.destroy_begun.insert(id);
                continue;
            }
            self.total += 1;
            match step {
                Some("create") => {
                    self.created.insert(id);
                }
                Some("audio") => {
                    self.audio
                        .insert(id, n.and_then(|n| n.parse().ok()).unwrap_or(0));
                }
                Some("transcript") => {
                    self.transcript.insert(id);
                }
                Some("draft") => {
                    self.draft.insert(id);
                }
                Some("attest") => {
                    self.attest.insert(id);
                }
                Some("export") => {
                    self.export.insert(id);
                }
                Some("destroy") => {
                    self.destroyed.insert(id);
                }
                _ => {}
            }
        }
        *self.last_steps.entry(last).or_default() += 1;
        None
    }
}

/// Reopens the vault (integrity check), verifies the audit log publicly and
/// with the chain, and checks every acknowledged write. Returns the number
/// of live sessions checked.
pub fn check(dir: &Path, acks: &Acks) -> usize {
    let mut v = Vault::open(dir)
        .unwrap_or_else(|e| panic!("the vault does not reopen after the kill: {e}"));
    let report = v.verify_public(&[]).unwrap();
    assert!(
        report.is_ok(),
        "public audit verification: {:?}",
        report.problems
    );
    let mut u = v
        .unlock(fixture::USER, &Passphrase::new(fixture::PASS.into()))
        .unwrap();
    let sessions: BTreeMap<SessionId, SessionState> = u
        .list_sessions()
        .unwrap()
        .into_iter()
        .map(|s| (s.id, s.state))
        .collect();
    let triggers: BTreeMap<String, String> = u
        .deletions()
        .unwrap()
        .into_iter()
        .map(|d| (d.session_hex, d.trigger))
        .collect();
    let mut live = 0;
    for id in &acks.created {
        let state = *sessions
            .get(id)
            .unwrap_or_else(|| panic!("acknowledged session {id} is lost"));
        if state == SessionState::Destroyed {
            // Legitimate only if the worker had started its export/destroy:
            // an export committed but killed before its ACK is finished by
            // retention at the next unlock (grace period 0), trigger `exported`.
            let trigger = triggers.get(&id.to_string()).map(String::as_str);
            assert!(
                acks.export.contains(id) || acks.destroy_begun.contains(id) || (acks.attest.contains(id) && trigger == Some("exported")),
                "session {id} was destroyed (trigger {trigger:?}) but no export or destroy was ever started"
            );
            continue;
        }
        assert!(
            !acks.destroyed.contains(id),
            "acknowledged destroy of {id} was undone"
        );
        live += 1;
        assert_eq!(u.patient_ref(*id).unwrap().expose(), fixture::PATIENT);
        let n = acks.audio.get(id).copied().unwrap_or(0);
        if n > 0 {
            let audio = u.audio(*id).unwrap();
            let want: Vec<f32> = (0..n).flat_map(|a| fixture::audio(*id, a)).collect();
            assert!(
                audio.len() >= want.len(),
                "session {id}: {} acknowledged audio appends, {} samples kept",
                n,
                audio.len()
            );
            assert_eq!(
                &audio[..want.len()],
                &want[..],
                "session {id}: audio differs"
            );
        }
        if acks.transcript.contains(id) {
            assert_eq!(u.transcript(*id).unwrap(), fixture::transcript(*id));
        }
        if acks.draft.contains(id) {
            assert_eq!(u.draft(*id).unwrap(), fixture::draft(*id));
        }
        if acks.attest.contains(id) {
            u.attested(*id)
                .unwrap_or_else(|e| panic!("session {id}: acknowledged attestation lost: {e}"));
        }
    }
    let full = u.verify_audit(&[]).unwrap();
    assert!(
        full.is_ok(),
        "audit chain verification: {:?}",
        full.problems
    );
    live
}
