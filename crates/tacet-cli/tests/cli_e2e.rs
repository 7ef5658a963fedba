//! The whole mission through the `tacet` binary, as a person would run it:
//! real whisper and real SmolLM2, a real vault in a temporary directory.
//! Needs the default models in the cache (`scripts/fetch-models.sh`);
//! without them the test says so and returns.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

mod support;
use std::path::Path;
use std::process::Command;
use support::{files, ok, repo_root, session_id, Tacet};

/// Every file under `dir` (recursively) that contains any needle.
fn scan(dir: &Path, needles: &[Vec<u8>], skip: &Path) -> Vec<String> {
    let mut hits = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.starts_with(skip) {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else {
                let bytes = std::fs::read(&p).unwrap();
                for n in needles {
                    if bytes.windows(n.len()).any(|w| w == n.as_slice()) {
                        hits.push(format!(
                            "{} holds {:?}",
                            p.display(),
                            String::from_utf8_lossy(&n[..n.len().min(24)])
                        ));
                    }
                }
            }
        }
    }
    hits
}

#[test]
fn the_demo_visit_from_audio_to_a_destroyed_session() {
    let Some(files) = tacet_tests::models::both() else {
        tacet_tests::skip("the default models are not cached (run scripts/fetch-models.sh)");
        return;
    };
    let t = Tacet::new();
    ok(&t.admin(&["init", "--fast-kdf"]));

    // Models: verified by SHA-256 before parsing; the admin imports them.
    let asr = files.join("whisper-tiny.en-ct2");
    let llm = files.join("SmolLM2-135M-Instruct.Q4_1.gguf");
    let refused = t.clinician(&["models", "import", asr.to_str().unwrap()]);
    assert!(
        !refused.status.success(),
        "a clinician must not change models"
    );
    ok(&t.admin(&["models", "import", asr.to_str().unwrap()]));
    ok(&t.admin(&["models", "import", llm.to_str().unwrap()]));
    let list = ok(&t.admin(&["models", "list"]));
    assert!(
        list.contains("whisper-tiny.en") && list.contains("smollm2"),
        "{list}"
    );

    // A session from the demo recording; the transcript is close to the script.
    let out = ok(&t.clinician(&[
        "session",
        "new",
        "--audio",
        "assets/demo/visit.wav",
        "--template",
        "soap",
        "--patient",
        "MRN-CANARY-7731",
    ]));
    let id = session_id(&out);
    let hypothesis: String = out
        .lines()
        .filter(|l| l.starts_with('['))
        .map(|l| l.get(8..).unwrap_or(""))
        .collect::<Vec<_>>()
        .join(" ");
    let script = std::fs::read_to_string(repo_root().join("assets/demo/visit.txt")).unwrap();
    let reference: String = script
        .lines()
        .map(|l| l.split_once(": ").map(|(_, r)| r).unwrap_or(l))
        .collect::<Vec<_>>()
        .join(" ");
    let wer = tacet_asr::word_error_rate(&reference, &hypothesis);
    eprintln!("demo visit WER {:.1}%", wer * 100.0);
    assert!(wer <= 0.15, "WER {wer:.3} > 15%\n{hypothesis}");

    // No export before a draft exists and is reviewed.
    let refused = t.clinician(&["export", &id]);
    assert!(!refused.status.success());

    let draft = ok(&t.clinician(&["draft", &id]));
    let mut pos = 0;
    for h in ["SUBJECTIVE:", "OBJECTIVE:", "ASSESSMENT:", "PLAN:"] {
        let at = draft[pos..]
            .find(h)
            .unwrap_or_else(|| panic!("{h} missing or out of order in\n{draft}"));
        pos += at + h.len();
    }

    let refused = t.clinician(&["export", &id]);
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("has not been reviewed"), "{err}");

    // Nothing patient-identifying is in clear in the vault's files.
    let vault_needles: Vec<Vec<u8>> = vec![
        b"MRN-CANARY-7731".to_vec(),
        b"penicillin".to_vec(),
        b"aspirin".to_vec(),
    ];
    let models_dir = t.data.path().join("models");
    assert_eq!(
        scan(t.data.path(), &vault_needles, &models_dir),
        Vec::<String>::new()
    );

    // The draft is checked against the transcript; flagged sentences block
    // attestation until edited, removed, or accepted with a reason.
    let shown = ok(&t.clinician(&["review", &id]));
    let flags: usize = shown
        .lines()
        .find_map(|l| {
            l.split(" flag(s) to resolve")
                .next()
                .filter(|_| l.contains("flag(s) to resolve"))
        })
        .and_then(|l| l.rsplit(", ").next())
        .and_then(|n| n.trim().parse().ok())
        .expect("the review shows its flag count");
    if flags > 0 {
        let refused = t.clinician(&["review", &id, "--attest"]);
        assert!(!refused.status.success());
        let err = String::from_utf8_lossy(&refused.stderr);
        assert!(err.contains("not resolved"), "{err}");
    }
    ok(&t.clinician(&[
        "review",
        &id,
        "--attest",
        "--accept-flags",
        "checked against the recording",
    ]));

    // Every ciphertext and the wrapped key, as stored before export.
    let db = t.data.path().join("vault.sqlite3");
    let mut secrets: Vec<Vec<u8>> = {
        let c = rusqlite::Connection::open(&db).unwrap();
        let mut st = c.prepare("SELECT sealed FROM artifacts").unwrap();
        let v: Vec<Vec<u8>> = st
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        v
    };
    let wrapped: Vec<u8> = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("SELECT wrapped_key FROM sessions", [], |r| r.get(0))
        .unwrap();
    secrets.push(wrapped);
    let tails: Vec<Vec<u8>> = secrets.iter().map(|s| s[s.len() - 28..].to_vec()).collect();

    let note_path = t.data.path().join("exported-note.txt");
    let exported = t.clinician(&["export", &id, "--out", note_path.to_str().unwrap()]);
    ok(&exported);
    let stderr = String::from_utf8_lossy(&exported.stderr);
    assert!(
        stderr.contains("destroyed") && stderr.contains("Receipt rcpt-"),
        "{stderr}"
    );
    let note = std::fs::read_to_string(&note_path).unwrap();
    assert!(
        note.contains("SUBJECTIVE:") && note.contains("Tacet audit checkpoint"),
        "{note}"
    );

    // After export: no ciphertext or key of that session remains anywhere
    // in the vault's files (database, WAL, lock).
    std::fs::remove_file(&note_path).unwrap();
    assert_eq!(
        scan(t.data.path(), &tails, &models_dir),
        Vec::<String>::new()
    );
    let gone = t.clinician(&["session", "transcript", &id]);
    assert!(!gone.status.success());

    // The admin sees the deletion and verifies the log against the note's checkpoint.
    let dels = ok(&t.admin(&["audit", "deletions"]));
    assert!(
        dels.contains(&id) && dels.contains("trigger exported"),
        "{dels}"
    );
    std::fs::write(&note_path, &note).unwrap();
    let v = ok(&t.admin(&["audit", "verify", note_path.to_str().unwrap()]));
    assert!(v.contains("VERIFIED"), "{v}");
}

#[test]
fn fail_wrong_passphrase_is_a_clear_error() {
    let t = Tacet::new();
    ok(&t.admin(&["init", "--fast-kdf"]));
    let o = t.run_as("clinician", "not-the-passphrase", &["session", "list"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("wrong user name or passphrase"), "{err}");
}

#[test]
fn fail_session_without_models_names_the_fix() {
    let t = Tacet::new();
    ok(&t.admin(&["init", "--fast-kdf"]));
    let o = t.clinician(&["session", "new", "--audio", "assets/demo/visit.wav"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("tacet models import") || err.contains("import"),
        "{err}"
    );
}

#[test]
fn fail_corrupt_audio_names_the_file() {
    let t = Tacet::new();
    ok(&t.admin(&["init", "--fast-kdf"]));
    let bad = t.data.path().join("broken.wav");
    std::fs::write(&bad, b"RIFF\x10\x00\x00\x00WAVEfmt garbage").unwrap();
    let o = t.clinician(&["session", "new", "--audio", bad.to_str().unwrap()]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("broken.wav"), "{err}");
}

#[test]
fn admin_reports_settings_and_the_compliance_report() {
    let t = Tacet::new();
    ok(&t.admin(&["init", "--fast-kdf"]));
    // A clinician cannot change retention; an admin can, and it is audited.
    assert!(!t
        .clinician(&["settings", "--retention-days", "3"])
        .status
        .success());
    let s = ok(&t.admin(&["settings", "--retention-days", "3", "--grace-hours", "2"]));
    assert!(s.contains("3.0 days") && s.contains("2.0 hours"), "{s}");

    let report_path = t.data.path().join("report.md");
    let pdf_path = t.data.path().join("report.pdf");
    ok(&t.admin(&[
        "compliance",
        "report",
        "--out",
        report_path.to_str().unwrap(),
        "--pdf",
        pdf_path.to_str().unwrap(),
    ]));
    let report = std::fs::read_to_string(&report_path).unwrap();
    for needle in [
        "after 3 day(s)",
        "2 hour(s) after export",
        "Argon2id with m = 19456 KiB",
        "AES-256-GCM",
        "Verification at the time of this report: **passed**",
        "- clinician: clinician",
        "secure_delete",
    ] {
        assert!(
            report.contains(needle),
            "report lacks {needle:?}:\n{report}"
        );
    }
    assert!(std::fs::read(&pdf_path).unwrap().starts_with(b"%PDF-1.4"));
    // The report names the practice's people: owner-only, and never
    // written over (the desktop saves it the same way).
    files::assert_owner_only(&report_path);
    files::assert_owner_only(&pdf_path);
    let again = t.admin(&[
        "compliance",
        "report",
        "--out",
        report_path.to_str().unwrap(),
    ]);
    assert!(!again.status.success());
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("already exists"), "{err}");
    assert_eq!(std::fs::read_to_string(&report_path).unwrap(), report);
    // Only an admin writes it.
    assert!(!t.clinician(&["compliance", "report"]).status.success());

    let consent = ok(&t.admin(&["compliance", "consent", "--practice", "Riverside Clinic"]));
    assert!(
        consent.contains("Riverside Clinic") && consent.contains("after\n3 days")
            || consent.contains("3 days"),
        "{consent}"
    );

    let fhir = t.data.path().join("audit.ndjson");
    ok(&t.admin(&["audit", "export-fhir", "--out", fhir.to_str().unwrap()]));
    let nd = std::fs::read_to_string(&fhir).unwrap();
    files::assert_owner_only(&fhir);
    assert!(
        nd.lines().count() >= 4
            && nd
                .lines()
                .all(|l| l.starts_with('{') && l.contains("\"resourceType\":\"AuditEvent\"")),
        "{nd}"
    );
    let access = ok(&t.admin(&["audit", "access-report"]));
    assert!(access.contains("admin"), "{access}");

    // A tampered log makes the report say so, prominently, and exit non-zero.
    let db = t.data.path().join("vault.sqlite3");
    {
        let c = rusqlite::Connection::open(&db).unwrap();
        let rec: Vec<u8> = c
            .query_row("SELECT record FROM audit_log WHERE seq = 1", [], |r| {
                r.get(0)
            })
            .unwrap();
        let mut bad = rec.clone();
        let n = bad.len();
        bad[n - 1] ^= 1;
        c.execute("UPDATE audit_log SET record = ?1 WHERE seq = 1", [bad])
            .unwrap();
    }
    let o = t.admin(&["compliance", "report"]);
    assert_eq!(o.status.code(), Some(2));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("THE AUDIT LOG FAILED VERIFICATION"), "{text}");
    let v = t.admin(&["audit", "verify"]);
    assert_eq!(v.status.code(), Some(2));
}

#[test]
fn the_compliance_report_follows_the_system_and_holds_no_patient_text() {
    let t = Tacet::new();
    ok(&t.admin(&["init", "--fast-kdf"]));
    let before = ok(&t.admin(&["compliance", "report"]));
    assert!(
        before.contains("No models are installed")
            && before.contains("data master key: none recorded"),
        "{before}"
    );
    // The process that wrote it fenced its writes to the data folder.
    let fence = before
        .lines()
        .find(|l| l.contains("Landlock file rules"))
        .unwrap_or_else(|| panic!("no write fence in the report:\n{before}"));
    assert!(
        fence.contains(&t.data.path().display().to_string()),
        "{fence}"
    );
    if tacet_sandbox::landlock_abi().is_some() {
        assert!(fence.ends_with("active"), "{fence}");
    }

    ok(&t.clinician(&["rotate-keys"]));
    ok(&t.admin(&["settings", "--retention-days", "2"]));
    let Some(files) = tacet_tests::models::both() else {
        tacet_tests::skip("the model part: the default models are not cached");
        return;
    };
    let asr = files.join("whisper-tiny.en-ct2");
    let llm = files.join("SmolLM2-135M-Instruct.Q4_1.gguf");
    ok(&t.admin(&["models", "import", asr.to_str().unwrap()]));
    ok(&t.admin(&["models", "import", llm.to_str().unwrap()]));
    ok(&t.clinician(&[
        "session",
        "new",
        "--audio",
        "assets/demo/visit.wav",
        "--patient",
        "MRN-CANARY-4411",
    ]));

    let after = ok(&t.admin(&["compliance", "report"]));
    assert!(
        after.contains("smollm2-135m-instruct-q4_1")
            && after.contains("b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"),
        "{after}"
    );
    assert!(!after.contains("data master key: none recorded"), "{after}");
    assert!(after.contains("after 2 day(s)"), "{after}");
    assert!(
        after.contains("Sessions currently holding patient data: 1"),
        "{after}"
    );
    for canary in ["MRN-CANARY-4411", "penicillin", "aspirin", "cough"] {
        assert!(!after.contains(canary), "the report leaks {canary:?}");
    }
}

#[test]
fn fail_read_only_vault_is_a_clear_error_and_work_resumes() {
    // Root ignores file permissions, so make the folder truly read-only with
    // a read-only bind mount in a private mount namespace.
    let t = Tacet::new();
    ok(&t.admin(&["init", "--fast-kdf"]));
    let d = t.data.path().display().to_string();
    let script = format!(
        "mount --bind '{d}' '{d}' && mount -o remount,bind,ro '{d}' && exec \"$0\" session list",
    );
    let o = Command::new("unshare")
        .args(["-m", "sh", "-c", &script, env!("CARGO_BIN_EXE_tacet")])
        .current_dir(repo_root())
        .env("TACET_DATA_DIR", t.data.path())
        .env("TACET_USER", "clinician")
        .env("TACET_PASSPHRASE", "clinician-passphrase-1")
        .output();
    let Ok(o) = o else {
        tacet_tests::skip("unshare is not available");
        return;
    };
    let err = String::from_utf8_lossy(&o.stderr);
    if err.contains("mount") && !err.contains("not writable") {
        tacet_tests::skip(&format!(
            "cannot make a read-only bind mount here (not root?): {err}"
        ));
        return;
    }
    assert!(!o.status.success());
    assert!(
        err.contains("is not writable") && err.contains("nothing was changed"),
        "{err}"
    );
    // Writable again: everything works and the log verifies.
    ok(&t.clinician(&["session", "list"]));
    assert!(ok(&t.admin(&["audit", "verify"])).contains("VERIFIED"));
}

#[test]
fn fail_a_clinician_row_planted_in_the_file_gets_no_key_and_is_reported() {
    // Issue 22, item 1, through the binary: someone who can write the vault
    // file but holds no clinician passphrase adds a clinician row with a
    // key of their own, and waits for a key rotation.
    let t = Tacet::new();
    ok(&t.admin(&["init", "--fast-kdf"]));
    {
        let c = rusqlite::Connection::open(t.data.path().join("vault.sqlite3")).unwrap();
        let n = c
            .execute(
                "INSERT INTO users (name, role, kdf_m_kib, kdf_t, kdf_p, kdf_salt, wrapped_audit_master, created_at_ms, x25519_public) \
                 SELECT 'mallory', 'clinician', kdf_m_kib, kdf_t, kdf_p, kdf_salt, wrapped_audit_master, created_at_ms, ?1 FROM users WHERE name = 'admin'",
                [vec![0x42u8; 32]],
            )
            .unwrap();
        assert_eq!(n, 1);
    }
    let o = t.clinician(&["rotate-keys"]);
    let out = ok(&o);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(out.contains("for 1 clinician(s)"), "{out}");
    assert!(
        err.contains("not wrapped for mallory") && err.contains("outside Tacet"),
        "{err}"
    );
    {
        let c = rusqlite::Connection::open(t.data.path().join("vault.sqlite3")).unwrap();
        let wrapped: Option<Vec<u8>> = c
            .query_row(
                "SELECT wrapped_data_master_pk FROM users WHERE name = 'mallory'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(wrapped, None, "the planted key got the data master");
    }
    let report = ok(&t.admin(&["audit", "access-report"]));
    assert!(report.contains("user.roster_refused"), "{report}");
    ok(&t.admin(&["audit", "verify"]));
}

#[test]
fn a_colleague_covers_a_session_only_while_the_owner_shares_it() {
    let Some(files) = tacet_tests::models::both() else {
        tacet_tests::skip("the default models are not cached (run scripts/fetch-models.sh)");
        return;
    };
    let t = Tacet::new();
    ok(&t.admin(&["init", "--fast-kdf"]));
    ok(&t.admin(&[
        "models",
        "import",
        files.join("whisper-tiny.en-ct2").to_str().unwrap(),
    ]));
    let kim = "kim-passphrase-for-cover-2";
    let o = Command::new(env!("CARGO_BIN_EXE_tacet"))
        .env("TACET_DATA_DIR", t.data.path())
        .env("TACET_USER", "clinician")
        .env("TACET_PASSPHRASE", "clinician-passphrase-1")
        .env("TACET_NEW_USER_PASSPHRASE", kim)
        .args(["users", "add", "drkim", "--role", "clinician", "--fast-kdf"])
        .output()
        .unwrap();
    ok(&o);
    let out = ok(&t.clinician(&[
        "session",
        "new",
        "--audio",
        "assets/demo/visit.wav",
        "--patient",
        "MRN-CANARY-5150",
    ]));
    let id = session_id(&out);
    let kim_sees = |args: &[&str]| t.run_as("drkim", kim, args);
    assert!(ok(&kim_sees(&["session", "list"])).contains("No sessions."));
    assert!(!kim_sees(&["session", "transcript", &id]).status.success());

    let shared = ok(&t.clinician(&["session", "share", &id, "--with", "drkim"]));
    assert!(
        shared.contains("drkim can now open session") && shared.contains("Shared with: drkim"),
        "{shared}"
    );
    let list = ok(&kim_sees(&["session", "list"]));
    assert!(
        list.contains(&id) && list.contains("owner clinician"),
        "{list}"
    );
    let transcript = ok(&kim_sees(&["session", "transcript", &id]));
    assert!(transcript.contains('['), "{transcript}");
    // drkim cannot pass it on.
    let o = kim_sees(&["session", "share", &id, "--with", "clinician"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("only the clinician who owns"));

    let stopped = ok(&t.clinician(&["session", "share", &id, "--with", "drkim", "--stop"]));
    assert!(
        stopped.contains("drkim can no longer open session"),
        "{stopped}"
    );
    assert!(!kim_sees(&["session", "transcript", &id]).status.success());
    let report = ok(&t.admin(&["audit", "access-report"]));
    assert!(
        report.contains("session.cover_granted") && report.contains("session.cover_revoked"),
        "{report}"
    );
    assert!(ok(&t.admin(&["audit", "verify"])).contains("VERIFIED"));
}

#[test]
fn fail_a_role_raised_in_the_file_brings_no_admin_powers() {
    // Issue 22: a clinician with the vault file turns their own row into an
    // admin's and tries an admin's command.
    let t = Tacet::new();
    ok(&t.admin(&["init", "--fast-kdf"]));
    {
        let c = rusqlite::Connection::open(t.data.path().join("vault.sqlite3")).unwrap();
        let n = c
            .execute(
                "UPDATE users SET role = 'admin' WHERE name = 'clinician'",
                [],
            )
            .unwrap();
        assert_eq!(n, 1);
    }
    let o = t.clinician(&["settings", "--retention-days", "30"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains("recorded as admin in the vault file")
            && err.contains("added it as clinician")
            && err.contains("the attempt is in the audit log"),
        "{err}"
    );
    let report = ok(&t.admin(&["audit", "access-report"]));
    assert!(report.contains("user.roster_refused"), "{report}");
    assert!(
        ok(&t.admin(&["settings"])).contains("7.0 days"),
        "retention unchanged"
    );
    assert!(ok(&t.admin(&["audit", "verify"])).contains("VERIFIED"));
}

#[test]
fn checkpoints_are_anchored_in_the_folder_the_admin_chose() {
    let t = Tacet::new();
    let stick = tempfile::tempdir().unwrap();
    ok(&t.admin(&["init", "--fast-kdf"]));
    let inside = t.admin(&["settings", "--anchor-dir", t.data.path().to_str().unwrap()]);
    assert!(!inside.status.success());
    let set = ok(&t.admin(&["settings", "--anchor-dir", stick.path().to_str().unwrap()]));
    assert!(
        set.contains(&format!(
            "Audit checkpoints anchored in:           {}",
            stick.path().display()
        )),
        "{set}"
    );
    ok(&t.clinician(&["rotate-keys"]));
    let v = ok(&t.admin(&["audit", "verify"]));
    assert!(v.contains("VERIFIED"), "{v}");
    let anchored = v
        .lines()
        .find(|l| l.starts_with("Anchors: "))
        .unwrap_or_default()
        .to_string();
    assert!(anchored.contains("anchored checkpoint(s) read from"), "{v}");
    let n: usize = anchored["Anchors: ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(n >= 2, "{v}");
    // What is on the stick: the pinned verifier key and the checkpoints.
    let folder = std::fs::read_dir(stick.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let key = std::fs::read_to_string(folder.join("verifier.vkey")).unwrap();
    let shown = ok(&t.admin(&["audit", "verifier-key"]));
    assert_eq!(key.trim(), shown.trim());
    let report = ok(&t.admin(&["compliance", "report"]));
    assert!(
        report.contains("Anchoring: ") && report.contains(key.trim()),
        "{report}"
    );
}
