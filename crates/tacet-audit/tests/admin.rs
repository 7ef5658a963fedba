//! The admin side: deletion log with proofs, access report, FHIR export and
//! pruning of the log itself.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

use serde_json::Value;
use tacet_audit::chain::GENESIS_TAG;
use tacet_audit::fhir::event_mapping;
use tacet_audit::{
    access_report, apply_prune, deletion_log, open_checkpoint, open_prune, prune_plan,
    render_deletion_log, retention_cutoff_unix_ms, sign_checkpoint, sign_prune,
    to_fhir_audit_event, to_ndjson, verify_inclusion, verify_log, verify_log_pruned, AuditError,
    AuditRecord, ChainKey, Checkpoint, MerkleLog, ProblemKind, SigningKey, StoredRecord,
    VerifyInput, VerifyReport,
};
use tacet_core::audit::Detail;
use tacet_core::{Actor, AuditAction, AuditEvent, Outcome, Role, SessionId};

const ORIGIN: &str = "tacet.test/admin";
const T0: u64 = 1_600_000_000_000;
const DAY_MS: u64 = 86_400_000;

struct Log {
    records: Vec<StoredRecord>,
    decoded: Vec<AuditRecord>,
    checkpoints: Vec<String>,
    signer: SigningKey,
    k0: ChainKey,
    key: ChainKey,
    prev: [u8; 32],
    tree: MerkleLog,
}

impl Log {
    fn new() -> Log {
        let (signer, _) = SigningKey::generate_named(ORIGIN).unwrap();
        let k0 = ChainKey([5; 32]);
        Log {
            records: vec![],
            decoded: vec![],
            checkpoints: vec![],
            signer,
            key: k0.clone(),
            k0,
            prev: GENESIS_TAG,
            tree: MerkleLog::new(),
        }
    }

    fn append_at(&mut self, wall_ms: u64, ev: &AuditEvent) -> u64 {
        let seq = self.records.len() as u64;
        let rec = AuditRecord::from_event(seq, wall_ms, seq * 10, "0.1.0", ev);
        let s = StoredRecord::seal(&rec, &self.key, &self.prev);
        self.key = self.key.evolve();
        self.prev = s.chain_tag;
        self.tree.push(s.leaf_hash);
        self.records.push(s);
        self.decoded.push(rec);
        seq
    }

    fn checkpoint(&mut self) -> Checkpoint {
        let cp = Checkpoint {
            origin: ORIGIN.into(),
            size: self.tree.size(),
            root: self.tree.root(),
        };
        self.checkpoints.push(sign_checkpoint(&cp, &self.signer));
        cp
    }

    fn verify(&self, notes: &[String]) -> VerifyReport {
        let verifier = self.signer.verifier();
        let external = self
            .checkpoints
            .last()
            .cloned()
            .into_iter()
            .collect::<Vec<_>>();
        verify_log_pruned(
            &VerifyInput {
                records: &self.records,
                stored_checkpoints: &self.checkpoints,
                external_checkpoints: &external,
                verifier: &verifier,
                chain_key0: Some(&self.k0),
            },
            notes,
        )
    }

    fn opened_checkpoints(&self) -> Vec<Checkpoint> {
        let v = self.signer.verifier();
        self.checkpoints
            .iter()
            .map(|n| open_checkpoint(n, &v).unwrap())
            .collect()
    }
}

fn clinician(name: &str) -> Actor {
    Actor::new(name, Role::Clinician)
}

fn destroyed(session: SessionId, trigger: &'static str, n: usize) -> AuditEvent {
    let mut ev = AuditEvent::new(AuditAction::SessionDestroyed, clinician("dr_a"))
        .session(session)
        .detail(Detail::Trigger(trigger))
        .detail(Detail::KeyId([0xab; 16]))
        .detail(Detail::Count(n as u64));
    for i in 0..n {
        ev = ev.detail(Detail::DestroyedCiphertext([i as u8; 32]));
    }
    ev
}

/// A day of work per session: created, viewed, edited, destroyed; one event
/// per day, so record i was written on day i.
fn busy_log(sessions: u8) -> Log {
    let mut log = Log::new();
    let mut day = 0;
    for s in 0..sessions {
        let sid = SessionId([s; 16]);
        for ev in [
            AuditEvent::new(AuditAction::Unlock, clinician("dr_a")),
            AuditEvent::new(AuditAction::SessionCreated, clinician("dr_a")).session(sid),
            AuditEvent::new(AuditAction::NoteViewed, clinician("dr_b"))
                .session(sid)
                .content_hash([s; 32]),
            AuditEvent::new(AuditAction::NoteEdited, clinician("dr_a"))
                .session(sid)
                .content_hash([s.wrapping_add(1); 32]),
            destroyed(sid, "exported", 2 + s as usize % 3),
        ] {
            log.append_at(T0 + day * DAY_MS, &ev);
            day += 1;
        }
        log.checkpoint();
    }
    log
}

// ---------------------------------------------------------------- deletion log

#[test]
fn deletion_log_lists_every_destroyed_session_with_a_verified_proof() {
    let log = busy_log(6);
    let cps = log.opened_checkpoints();
    let latest = cps.last().unwrap();
    let entries = deletion_log(&log.records, latest).unwrap();
    assert_eq!(entries.len(), 6);
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(e.session, hex::encode([i as u8; 16]));
        assert_eq!(e.trigger, "exported");
        assert_eq!(e.actor, "dr_a");
        assert_eq!(e.key_id, hex::encode([0xab; 16]));
        assert_eq!(e.destroyed_ciphertexts, 2 + i as u64 % 3);
        assert_eq!(
            e.receipt_id,
            format!(
                "rcpt-{}-{}",
                e.seq,
                hex::encode(&log.records[e.seq as usize].leaf_hash[..4])
            )
        );
        assert_eq!(e.at_unix_ms, log.decoded[e.seq as usize].wall_unix_ms);
        let p = e.proof.as_ref().expect("covered by the checkpoint");
        assert_eq!((p.tree_size, p.root), (latest.size, latest.root));
        verify_inclusion(e.seq, p.tree_size, &e.leaf_hash, &p.path, &p.root).unwrap();
    }
    let text = render_deletion_log(&entries, latest);
    assert_eq!(text.matches("proven in the verified log").count(), 6);
}

#[test]
fn deletion_log_against_an_older_checkpoint_marks_later_records_unproven() {
    let log = busy_log(4);
    let cps = log.opened_checkpoints();
    let entries = deletion_log(&log.records, &cps[1]).unwrap();
    assert_eq!(entries.len(), 4);
    assert!(entries[..2].iter().all(|e| e.proof.is_some()));
    assert!(entries[2..].iter().all(|e| e.proof.is_none()));
    assert!(render_deletion_log(&entries, &cps[1]).contains("not yet proven"));
}

#[test]
fn fail_deletion_log_on_a_modified_record() {
    let mut log = busy_log(3);
    let cps = log.opened_checkpoints();
    // Change who destroyed session 1 and recompute the stored hash (the
    // tree is rebuilt from the bytes anyway).
    let mut rec = log.decoded[9].clone();
    rec.actor = "someone_else".into();
    log.records[9].bytes = rec.encode();
    log.records[9].leaf_hash = tacet_audit::leaf_hash(&log.records[9].bytes);
    assert_eq!(
        deletion_log(&log.records, cps.last().unwrap()),
        Err(AuditError::CheckpointMismatch { size: 15 })
    );
}

#[test]
fn fail_deletion_log_on_a_gap_or_a_short_log() {
    let mut log = busy_log(3);
    let latest = log.opened_checkpoints().pop().unwrap();
    let mut short = log.records.clone();
    short.pop();
    assert!(matches!(
        deletion_log(&short, &latest),
        Err(AuditError::SizeOutOfRange { .. })
    ));
    log.records.remove(4);
    assert_eq!(
        deletion_log(&log.records, &latest),
        Err(AuditError::LogNotContiguous {
            position: 4,
            seq: 5
        })
    );
}

// --------------------------------------------------------------- access report

#[test]
fn access_report_counts_per_user_and_lists_per_session() {
    let mut log = busy_log(3);
    log.append_at(
        T0 + 100 * DAY_MS,
        &AuditEvent::new(AuditAction::NoteViewed, clinician("dr_b"))
            .session(SessionId([1; 16]))
            .outcome(Outcome::Denied),
    );
    let rep = access_report(&log.decoded);
    assert_eq!(rep.records, 16);
    let a = &rep.users["dr_a"];
    assert_eq!(a.by_action["user.unlock"], 3);
    assert_eq!(a.by_action["session.destroyed"], 3);
    assert_eq!(a.total, 12);
    assert_eq!(a.sessions.len(), 3);
    let b = &rep.users["dr_b"];
    assert_eq!(b.by_action["session.note_viewed"], 4);
    assert_eq!(b.not_successful, 1);
    let s1 = &rep.sessions[&hex::encode([1u8; 16])];
    let actions: Vec<&str> = s1.iter().map(|l| l.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "session.created",
            "session.note_viewed",
            "session.note_edited",
            "session.destroyed",
            "session.note_viewed"
        ]
    );
    assert_eq!(s1[4].outcome, "denied");
    let text = rep.render_text();
    assert!(text.contains("dr_b (clinician): 4 event(s), 1 not successful, 3 session(s)"));
    assert!(text.contains("never in the log"));
    assert!(text.contains("2020-09-13T12:26:40.000Z"), "{text}");
}

#[test]
fn access_report_neutralises_control_characters() {
    let mut log = Log::new();
    log.append_at(
        T0,
        &AuditEvent::new(AuditAction::Unlock, clinician("evil\n  fake line\u{1b}[2J")),
    );
    let text = access_report(&log.decoded).render_text();
    assert!(!text.contains('\u{1b}'));
    assert!(text.contains("evil?  fake line?[2J"));
}

// ------------------------------------------------------------------------ FHIR

fn full_event(action: AuditAction) -> AuditEvent {
    AuditEvent::new(action, clinician("dr_a"))
        .session(SessionId([7; 16]))
        .object("model-whisper")
        .content_hash([9; 32])
        .detail(Detail::ModelSha256([3; 32]))
        .detail(Detail::KeyId([4; 16]))
        .detail(Detail::Trigger("retention"))
        .detail(Detail::Count(2))
        .detail(Detail::DestroyedCiphertext([5; 32]))
}

#[test]
fn every_action_maps_to_a_complete_audit_event() {
    for (i, action) in AuditAction::ALL.into_iter().enumerate() {
        let rec = AuditRecord::from_event(i as u64, T0, 0, "0.1.0", &full_event(action));
        let ev = to_fhir_audit_event(&rec, ORIGIN);
        assert_eq!(ev["resourceType"], "AuditEvent");
        assert!(
            ev["type"]["system"].is_string() && ev["type"]["code"].is_string(),
            "{action:?}"
        );
        assert!(["C", "R", "U", "D", "E"].contains(&ev["action"].as_str().unwrap()));
        assert_eq!(ev["recorded"], "2020-09-13T12:26:40.000Z");
        let failure = matches!(
            action,
            AuditAction::UnlockFailed | AuditAction::ExportRefused
        );
        assert_eq!(ev["outcome"], if failure { "4" } else { "0" }, "{action:?}");
        assert_eq!(ev["agent"][0]["who"]["identifier"]["value"], "dr_a");
        assert_eq!(ev["agent"][0]["requestor"], true);
        assert_eq!(ev["agent"][0]["role"][0]["text"], "clinician");
        assert_eq!(ev["source"]["observer"]["identifier"]["value"], ORIGIN);
        let subtypes = ev["subtype"].as_array().unwrap();
        assert!(subtypes
            .iter()
            .any(|c| c["system"] == "urn:tacet:audit-action" && c["code"] == action.code()));
        let session = &ev["entity"][0];
        assert_eq!(
            session["what"]["identifier"]["value"],
            hex::encode([7u8; 16])
        );
        let details = session["detail"].as_array().unwrap();
        assert!(details
            .iter()
            .any(|d| d["type"] == "sha256" && d["valueString"] == hex::encode([9u8; 32])));
    }
}

#[test]
fn mapping_follows_balp_and_dicom_codes() {
    let m = event_mapping("session.destroyed");
    assert_eq!(
        (m.type_.1, m.subtype.unwrap().1, m.action),
        ("rest", "delete", "D")
    );
    assert_eq!(
        m.subtype.unwrap().0,
        "http://hl7.org/fhir/restful-interaction"
    );
    assert_eq!(
        event_mapping("session.note_viewed").subtype.unwrap().1,
        "read"
    );
    assert_eq!(
        event_mapping("session.note_edited").subtype.unwrap().1,
        "update"
    );
    assert_eq!(
        event_mapping("session.created").subtype.unwrap().1,
        "create"
    );
    let login = event_mapping("user.unlock");
    assert_eq!(
        (login.type_.1, login.subtype.unwrap().1),
        ("110114", "110122")
    );
    assert_eq!(event_mapping("audit.checkpoint").type_.1, "110100");
    // Outcomes: a failed login is a minor failure, a failure is serious.
    let mut ev = AuditEvent::new(AuditAction::UnlockFailed, clinician("x"));
    let rec = AuditRecord::from_event(0, T0, 0, "v", &ev);
    assert_eq!(to_fhir_audit_event(&rec, ORIGIN)["outcome"], "4");
    ev = ev.outcome(Outcome::Failed);
    let rec = AuditRecord::from_event(0, T0, 0, "v", &ev);
    assert_eq!(to_fhir_audit_event(&rec, ORIGIN)["outcome"], "8");
    let rec = AuditRecord::from_event(
        0,
        T0,
        0,
        "v",
        &AuditEvent::new(AuditAction::NoteViewed, clinician("x")).outcome(Outcome::Denied),
    );
    assert_eq!(to_fhir_audit_event(&rec, ORIGIN)["outcome"], "4");
}

#[test]
fn deletion_carries_the_destroy_lifecycles() {
    let rec = AuditRecord::from_event(
        3,
        T0,
        0,
        "v",
        &destroyed(SessionId([2; 16]), "retention", 2),
    );
    let ev = to_fhir_audit_event(&rec, ORIGIN);
    assert_eq!(ev["action"], "D");
    let session = &ev["entity"][0];
    assert_eq!(
        session["lifecycle"]["system"],
        "http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle"
    );
    assert_eq!(session["lifecycle"]["code"], "destroy");
    let key = ev["entity"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["what"]["identifier"]["system"] == "urn:tacet:key")
        .expect("key entity");
    assert_eq!(key["what"]["identifier"]["value"], hex::encode([0xab; 16]));
    assert_eq!(
        key["lifecycle"]["system"],
        "http://terminology.hl7.org/CodeSystem/dicom-audit-lifecycle"
    );
    assert_eq!(key["lifecycle"]["code"], "15");
    let hashes = session["detail"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["type"] == "destroyed_ciphertext_sha256")
        .count();
    assert_eq!(hashes, 2);
    // Other actions carry no lifecycle.
    let rec = AuditRecord::from_event(0, T0, 0, "v", &full_event(AuditAction::NoteViewed));
    assert!(to_fhir_audit_event(&rec, ORIGIN)
        .to_string()
        .find("lifecycle")
        .is_none());
}

#[test]
fn ndjson_has_one_object_per_line() {
    let log = busy_log(3);
    let out = to_ndjson(&log.decoded, ORIGIN);
    assert!(out.ends_with('\n'));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), log.decoded.len());
    for (i, l) in lines.iter().enumerate() {
        let v: Value = serde_json::from_str(l).unwrap();
        assert_eq!(v["id"], format!("tacet-{i}"));
    }
}

/// Strings that look like patient text (in every free-form field a forged or
/// buggy record could fill) never reach the export; ids that are not
/// identifier-shaped become hashes.
#[test]
fn export_never_copies_text() {
    let text = "Jane Doe chest pain since Tuesday";
    let rec = AuditRecord {
        seq: 1,
        wall_unix_ms: T0,
        mono_ns: 0,
        actor: format!("dr {text}"),
        role: text.into(),
        action: format!("session.{text}"),
        outcome: text.into(),
        session: Some(text.into()),
        object: Some(text.into()),
        content_sha256: Some([1; 32]),
        details: vec![
            ("note".into(), text.into()),
            ("trigger".into(), text.into()),
            ("template".into(), "Jane".into()),
            ("model_sha256".into(), text.into()),
            ("count".into(), "12 Jane".into()),
            ("trigger".into(), "retention".into()),
        ],
        app_version: text.into(),
    };
    let json = to_fhir_audit_event(&rec, "tacet.local/x y Jane").to_string();
    for word in ["Jane", "Doe", "chest", "pain", "Tuesday", " y "] {
        assert!(!json.contains(word), "{word} leaked: {json}");
    }
    assert!(json.contains("\"valueString\":\"retention\""));
    assert!(json.contains("sha256:"));
    // Every string value in the event is a URI, code, id, hash or word.
    let mut strings = Vec::new();
    collect_strings(&serde_json::from_str(&json).unwrap(), &mut strings);
    for s in strings {
        assert!(
            !s.contains(' ') || is_display(&s),
            "free text in export: {s:?}"
        );
    }
}

/// Display strings of standard codes are fixed by the mapping, not data.
fn is_display(s: &str) -> bool {
    [
        "Application Activity",
        "System Object",
        "Application Server",
        "human user",
        "Restful Operation",
        "Permanent erasure / Physical destruction",
        "Security Alert",
        "User Authentication",
        "Audit Log Used",
    ]
    .contains(&s)
}

fn collect_strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| collect_strings(x, out)),
        Value::Object(o) => o.values().for_each(|x| collect_strings(x, out)),
        _ => {}
    }
}

// --------------------------------------------------------------------- pruning

/// Five sessions over 25 days, pruned before day `days`.
fn pruned_log(days: u64) -> (Log, String, u64) {
    let mut log = busy_log(5);
    let plan = prune_plan(&log.records, &log.opened_checkpoints(), T0 + days * DAY_MS).unwrap();
    assert_eq!(plan.prune_below, days);
    let note = sign_prune(&plan.statement, &log.signer);
    apply_prune(&mut log.records, &plan);
    (log, note, plan.prune_below)
}

#[test]
fn a_pruned_log_verifies_under_its_note_with_every_checkpoint() {
    let (log, note, below) = pruned_log(12);
    assert!(log.records[..12].iter().all(StoredRecord::is_pruned));
    assert!(!log.records[12].is_pruned());
    let r = log.verify(std::slice::from_ref(&note));
    assert!(r.is_ok(), "{:#?}", r.problems);
    assert_eq!(r.pruned_records, below);
    assert_eq!(r.root, log.tree.root());
    // The deletion log still proves the records that remain.
    let latest = log.opened_checkpoints().pop().unwrap();
    let entries = deletion_log(&log.records, &latest).unwrap();
    assert_eq!(
        entries.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [14, 19, 24]
    );
    assert!(entries.iter().all(|e| e.proof.is_some()));
}

#[test]
fn fail_pruned_log_without_its_note() {
    let (log, _note, _) = pruned_log(12);
    let r = log.verify(&[]);
    assert_eq!(r.pruned_records, 0);
    for seq in 0..12 {
        assert!(r
            .problems
            .iter()
            .any(|p| p.seq == Some(seq) && p.kind == ProblemKind::LeafHashMismatch));
    }
    // verify_log is the same as no notes.
    let verifier = log.signer.verifier();
    let r2 = verify_log(&VerifyInput {
        records: &log.records,
        stored_checkpoints: &log.checkpoints,
        external_checkpoints: &[],
        verifier: &verifier,
        chain_key0: Some(&log.k0),
    });
    assert!(!r2.is_ok());
}

#[test]
fn fail_bytes_removed_beyond_the_note() {
    let (mut log, note, _) = pruned_log(12);
    log.records[12].bytes.clear();
    log.records[20].bytes.clear();
    let r = log.verify(&[note]);
    for seq in [12, 20] {
        assert!(
            r.problems
                .iter()
                .any(|p| p.seq == Some(seq) && p.kind == ProblemKind::LeafHashMismatch),
            "{:#?}",
            r.problems
        );
    }
    assert!(r.problems.iter().all(|p| p.seq.is_none_or(|s| s >= 12)));
}

#[test]
fn fail_modified_hashes_of_pruned_records() {
    // A pruned record's leaf hash: the note's root and the checkpoints break.
    let (mut log, note, _) = pruned_log(12);
    log.records[3].leaf_hash[0] ^= 1;
    let r = log.verify(std::slice::from_ref(&note));
    assert!(r
        .problems
        .iter()
        .any(|p| p.kind == ProblemKind::PruneNoteMismatch));
    assert!(r
        .problems
        .iter()
        .any(|p| p.kind == ProblemKind::CheckpointRootMismatch));
    // The last pruned chain tag: the note names it.
    let (mut log, note, _) = pruned_log(12);
    log.records[11].chain_tag[0] ^= 1;
    let r = log.verify(&[note]);
    assert!(r
        .problems
        .iter()
        .any(|p| p.kind == ProblemKind::PruneNoteMismatch && p.seq == Some(11)));
}

#[test]
fn fail_edits_after_the_pruned_prefix_are_still_caught() {
    let (mut log, note, _) = pruned_log(12);
    let mut rec = AuditRecord::decode(&log.records[13].bytes).unwrap();
    rec.actor = "mallory".into();
    log.records[13].bytes = rec.encode();
    log.records[13].leaf_hash = tacet_audit::leaf_hash(&log.records[13].bytes);
    let r = log.verify(&[note]);
    assert!(r
        .problems
        .iter()
        .any(|p| p.seq == Some(13) && p.kind == ProblemKind::ChainTagMismatch));
    assert!(r
        .problems
        .iter()
        .any(|p| p.kind == ProblemKind::CheckpointRootMismatch));
    // Deleting a pruned row is a gap like any other.
    let (mut log, note, _) = pruned_log(12);
    log.records.remove(5);
    let r = log.verify(&[note]);
    assert!(r
        .problems
        .iter()
        .any(|p| p.kind == ProblemKind::SequenceGap));
}

#[test]
fn fail_forged_or_altered_prune_notes() {
    let (log, note, _) = pruned_log(12);
    // Another key.
    let (other, _) = SigningKey::generate_named(ORIGIN).unwrap();
    let mut st = open_prune(&note, &log.signer.verifier()).unwrap();
    let forged = sign_prune(&st, &other);
    let r = log.verify(&[forged]);
    assert!(r
        .problems
        .iter()
        .any(|p| p.kind == ProblemKind::PruneNoteInvalid));
    assert!(r
        .problems
        .iter()
        .any(|p| p.kind == ProblemKind::LeafHashMismatch));
    // Altered body (extend pruned_below) under the original signature.
    let altered = note.replacen("\n12\n", "\n20\n", 1);
    assert_ne!(altered, note);
    let r = log.verify(&[altered]);
    assert!(r
        .problems
        .iter()
        .any(|p| p.kind == ProblemKind::PruneNoteInvalid));
    // A validly signed note for a root that is not this log's.
    st.root[0] ^= 1;
    let r = log.verify(&[sign_prune(&st, &log.signer)]);
    assert!(r
        .problems
        .iter()
        .any(|p| p.kind == ProblemKind::PruneNoteMismatch));
    // A checkpoint is not a prune note, and a prune note is not a checkpoint.
    let r = log.verify(&[log.checkpoints[0].clone()]);
    assert!(r
        .problems
        .iter()
        .any(|p| p.kind == ProblemKind::PruneNoteInvalid));
    assert!(open_checkpoint(&note, &log.signer.verifier()).is_err());
}

#[test]
fn prune_plan_respects_cutoff_checkpoints_and_repeats() {
    let mut log = busy_log(5);
    // Nothing is old enough.
    let plan = prune_plan(&log.records, &log.opened_checkpoints(), T0).unwrap();
    assert!(plan.is_empty());
    assert_eq!(plan.statement.last_pruned_chain_tag, GENESIS_TAG);
    // Records after the last checkpoint are never pruned, however old.
    log.append_at(
        T0 + 25 * DAY_MS,
        &AuditEvent::new(AuditAction::Unlock, clinician("dr_a")),
    );
    let plan = prune_plan(&log.records, &log.opened_checkpoints(), u64::MAX).unwrap();
    assert_eq!(plan.prune_below, 25);
    // Stops at the first record at or after the cutoff, even if a later one
    // has an older clock.
    let mut log = busy_log(2);
    log.append_at(T0, &AuditEvent::new(AuditAction::Unlock, clinician("dr_a")));
    log.checkpoint();
    let plan = prune_plan(&log.records, &log.opened_checkpoints(), T0 + 3 * DAY_MS).unwrap();
    assert_eq!(
        (plan.prune_below, plan.drop_bytes.clone()),
        (3, vec![0, 1, 2])
    );
    // Pruning again extends the first prune; both notes verify.
    let mut log = busy_log(5);
    let p1 = prune_plan(&log.records, &log.opened_checkpoints(), T0 + 5 * DAY_MS).unwrap();
    let n1 = sign_prune(&p1.statement, &log.signer);
    apply_prune(&mut log.records, &p1);
    let p2 = prune_plan(&log.records, &log.opened_checkpoints(), T0 + 15 * DAY_MS).unwrap();
    assert_eq!((p2.prune_below, p2.drop_bytes.len()), (15, 10));
    let n2 = sign_prune(&p2.statement, &log.signer);
    apply_prune(&mut log.records, &p2);
    let r = log.verify(&[n1, n2]);
    assert!(r.is_ok(), "{:#?}", r.problems);
    assert_eq!(r.pruned_records, 15);
}

#[test]
fn fail_prune_plan_on_a_log_that_does_not_verify() {
    let mut log = busy_log(3);
    let cps = log.opened_checkpoints();
    assert_eq!(
        prune_plan(&log.records, &[], u64::MAX),
        Err(AuditError::NothingSigned)
    );
    log.records[2].bytes[30] ^= 1;
    assert!(matches!(
        prune_plan(&log.records, &cps, u64::MAX),
        Err(AuditError::CheckpointMismatch { .. })
    ));
}

#[test]
fn six_year_cutoff() {
    let now = 1_900_000_000_000;
    let cut = retention_cutoff_unix_ms(now, 6);
    assert_eq!(now - cut, 6 * 31_556_952_000);
    assert_eq!(retention_cutoff_unix_ms(5, 6), 0);
}

/// Random prune points and random attacks on the pruned log: every attack is
/// reported, and the untouched pruned log never is.
#[test]
fn pruned_log_tamper_matrix() {
    let mut state = 0x1234_5678_u64;
    let mut next = |n: u64| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) % n
    };
    for _ in 0..40 {
        let days = 1 + next(24);
        let (log, note, below) = pruned_log(days);
        let notes = [note];
        assert!(log.verify(&notes).is_ok());
        let n = log.records.len() as u64;
        let mut bad = log.records.clone();
        let attack = next(4);
        match attack {
            0 => bad[(below + next(n - below)) as usize].bytes.clear(),
            1 => {
                let r = &mut bad[(below + next(n - below)) as usize];
                let at = next(r.bytes.len() as u64) as usize;
                r.bytes[at] ^= 1 << next(8);
            }
            2 => bad[next(below) as usize].leaf_hash[next(32) as usize] ^= 1,
            _ => {
                let i = next(n) as usize;
                bad.remove(i);
            }
        }
        let r = verify_log_pruned(
            &VerifyInput {
                records: &bad,
                stored_checkpoints: &log.checkpoints,
                external_checkpoints: &[],
                verifier: &log.signer.verifier(),
                chain_key0: Some(&log.k0),
            },
            &notes,
        );
        assert!(
            !r.is_ok(),
            "attack {attack} after pruning below {below} went unnoticed"
        );
    }
}

#[test]
fn write_ndjson_streams_the_same_lines() {
    let log = busy_log(2);
    let mut buf = Vec::new();
    tacet_audit::write_ndjson(&log.decoded, ORIGIN, &mut buf).unwrap();
    assert_eq!(
        String::from_utf8(buf).unwrap(),
        to_ndjson(&log.decoded, ORIGIN)
    );
}
