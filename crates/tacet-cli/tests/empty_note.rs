//! No silent empty note: `tacet review <id> --attest` refuses a note whose
//! every section is empty or says "Not discussed." unless the clinician adds
//! `--confirm-empty`, and the confirmation is audited (object
//! `empty-note-confirmed`, a count, no text). The flag's parsing needs no
//! model; the whole way (a real session, drafted, then attested as an empty
//! note) needs the default models and is skipped, with a message, without
//! them.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

mod support;
use support::{session_id, Tacet};

/// The audit records as stored (pruned ones left out).
fn audit(env: &Tacet) -> Vec<tacet_audit::AuditRecord> {
    let c = rusqlite::Connection::open(env.data.path().join("vault.sqlite3")).unwrap();
    let mut st = c
        .prepare("SELECT record FROM audit_log ORDER BY seq")
        .unwrap();
    let records: Vec<Vec<u8>> = st
        .query_map([], |r| r.get::<_, Vec<u8>>(0))
        .unwrap()
        .map(|b| b.unwrap())
        .collect();
    records
        .iter()
        .filter(|b| !b.is_empty())
        .map(|b| tacet_audit::AuditRecord::decode(b).unwrap())
        .collect()
}

#[test]
fn fail_confirm_empty_is_only_taken_with_attest_and_is_documented() {
    let env = Tacet::new();
    let help = env.ok("clinician", &["review", "--help"]);
    assert!(help.contains("--confirm-empty"), "{help}");
    let o = env.run(
        "clinician",
        &[
            "review",
            "0123456789abcdef0123456789abcdef",
            "--confirm-empty",
        ],
    );
    assert!(!o.status.success());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("--attest"), "{stderr}");
}

#[test]
fn an_empty_note_is_attested_only_with_confirm_empty_and_the_confirmation_is_audited() {
    let Some(files) = tacet_tests::models::both() else {
        tacet_tests::skip("the default models are not cached (scripts/fetch-models.sh)");
        return;
    };
    let env = Tacet::new();
    env.init_with_models(&files);
    let out = env.ok(
        "clinician",
        &[
            "session",
            "new",
            "--audio",
            "assets/demo/visit.wav",
            "--template",
            "soap",
            "--patient",
            "MRN-EMPTY-5150",
        ],
    );
    let id = session_id(&out);
    env.ok("clinician", &["draft", &id]);

    // The clinician empties the note: two sections say "Not discussed.",
    // two are left as the renderer writes an empty one.
    let empty = "SUBJECTIVE:\nNot discussed.\n\nOBJECTIVE:\n(nothing recorded)\n\n\
                 ASSESSMENT:\nnot discussed\n\nPLAN:\n(nothing recorded)\n";
    let edited = env.data.path().join("empty.txt");
    std::fs::write(&edited, empty).unwrap();
    let edited = edited.to_str().unwrap();
    let refused = env.run(
        "clinician",
        &["review", &id, "--attest", "--edited", edited],
    );
    assert!(
        !refused.status.success(),
        "an empty note was attested silently"
    );
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("no content"), "{stderr}");
    assert!(stderr.contains("--confirm-empty"), "{stderr}");
    assert!(
        !audit(&env)
            .iter()
            .any(|r| r.action == "session.review_attested"),
        "nothing was attested"
    );
    // Still a draft: nothing to export.
    let export = env.run("clinician", &["export", &id]);
    assert!(!export.status.success());

    // The drafted note has content: no warning when it is shown.
    let shown = env.ok("clinician", &["review", &id]);
    assert!(shown.contains("DRAFT (not reviewed):"), "{shown}");

    let attested = env.ok(
        "clinician",
        &[
            "review",
            &id,
            "--attest",
            "--edited",
            edited,
            "--confirm-empty",
        ],
    );
    assert!(attested.contains("Attested by clinician"), "{attested}");
    assert!(
        attested.contains("I confirm this note is intentionally empty"),
        "{attested}"
    );
    let audit = audit(&env);
    let confirmed: Vec<_> = audit
        .iter()
        .filter(|r| r.object.as_deref() == Some("empty-note-confirmed"))
        .collect();
    assert_eq!(confirmed.len(), 1, "{audit:?}");
    assert_eq!(confirmed[0].action, "session.review_attested");
    assert_eq!(confirmed[0].outcome, "success");
    assert!(confirmed[0].content_sha256.is_some(), "the note's hash");
    assert_eq!(
        confirmed[0].details,
        vec![("count".to_string(), "4".to_string())],
        "the number of sections, no text"
    );
    // The attested empty note exports like any other.
    let note = env.ok("clinician", &["export", &id]);
    assert!(note.starts_with(empty), "{note}");
}
