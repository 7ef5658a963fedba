//! `tacet export --format text|pdf|fhir`: the FHIR attachment decodes to
//! the attested text byte for byte, files are created new and owner-only,
//! and the checks that can refuse (no file for a PDF, an existing file, an
//! unknown format) refuse before anything is marked exported, so the
//! session can still be exported. (The renderings themselves are tested in
//! tacet-export.) Needs the default models (it transcribes and drafts real
//! sessions); skipped with a message when they are not cached.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

mod support;
use base64ct::{Base64, Encoding};
use support::files::assert_owner_only;
use support::{session_id, Tacet};

/// What these tests do with a vault beyond running the binary.
trait Exports {
    fn refused(&self, args: &[&str], why: &str);
    fn attested(&self, template: &str, patient: &str, text: &str) -> String;
}

impl Exports for Tacet {
    fn refused(&self, args: &[&str], why: &str) {
        let o = self.run("clinician", args);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "tacet {args:?} succeeded");
        assert!(stderr.contains(why), "tacet {args:?}: {stderr}");
    }

    /// A session from the demo audio, drafted, attested as `text`.
    fn attested(&self, template: &str, patient: &str, text: &str) -> String {
        let out = self.ok(
            "clinician",
            &[
                "session",
                "new",
                "--audio",
                "assets/demo/visit.wav",
                "--template",
                template,
                "--patient",
                patient,
            ],
        );
        let id = session_id(&out);
        self.ok("clinician", &["draft", &id]);
        let edited = self.data.path().join(format!("edited-{id}.txt"));
        std::fs::write(&edited, text).unwrap();
        self.ok(
            "clinician",
            &[
                "review",
                &id,
                "--attest",
                "--edited",
                edited.to_str().unwrap(),
                "--accept-flags",
                "checked against the recording",
            ],
        );
        id
    }
}

#[test]
fn a_fhir_export_carries_the_attested_note_and_refusals_change_nothing() {
    let Some(files) = tacet_tests::models::both() else {
        tacet_tests::skip("the default models are not cached (scripts/fetch-models.sh)");
        return;
    };
    let env = Tacet::new();
    env.init_with_models(&files);

    // One session (drafting is slow on a small machine): first every
    // refusal, each before anything is marked exported, then FHIR.
    let hp_text = "CHIEF COMPLAINT:\nCough for a week.\n\nASSESSMENT AND PLAN:\nViral bronchitis; fluids, review in 7 days. Temp ≥ 38 °C: call.\n";
    let a = env.attested("hp", "MRN-0042", hp_text);
    env.refused(&["export", &a, "--format", "pdf"], "--out");
    let existing = env.data.path().join("existing.json");
    std::fs::write(&existing, b"keep me").unwrap();
    env.refused(
        &[
            "export",
            &a,
            "--format",
            "fhir",
            "--out",
            existing.to_str().unwrap(),
        ],
        "already exists",
    );
    assert_eq!(std::fs::read(&existing).unwrap(), b"keep me");
    env.refused(&["export", &a, "--format", "docx"], "docx");
    let fhir = env.data.path().join("a.fhir.json");
    let o = env.run(
        "clinician",
        &[
            "export",
            &a,
            "--format",
            "fhir",
            "--out",
            fhir.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("as FHIR DocumentReference"));
    assert_owner_only(&fhir);
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&fhir).unwrap()).unwrap();
    assert_eq!(v["resourceType"], "DocumentReference");
    assert_eq!(v["type"]["coding"][0]["code"], "34117-2");
    assert_eq!(v["subject"]["identifier"]["value"], "MRN-0042");
    assert_eq!(v["identifier"][0]["value"], a.as_str());
    let data = v["content"][0]["attachment"]["data"].as_str().unwrap();
    assert_eq!(Base64::decode_vec(data).unwrap(), hp_text.as_bytes());
    let checkpoint = v["meta"]["extension"][0]["valueString"].as_str().unwrap();
    assert!(checkpoint.lines().count() >= 3, "a signed checkpoint");
    // The session was destroyed after the export, as before.
    assert!(!env.run("clinician", &["review", &a]).status.success());

    // Markdown, a format added to the core's list with no change to the
    // CLI: headings as Markdown headings, the clinician's words kept as
    // text, and a checkpoint `tacet audit verify` reads from the file.
    let soap_text = "SUBJECTIVE:\nKnee pain *after* a fall, 7/10.\n\nOBJECTIVE:\nBP 128/82.\n\nASSESSMENT:\nMeniscus strain.\n\nPLAN:\n- Ice and rest; review in 2 weeks.\n";
    let b = env.attested("soap", "MRN-0043", soap_text);
    let md = env.data.path().join("b.md");
    env.ok(
        "clinician",
        &[
            "export",
            &b,
            "--format",
            "markdown",
            "--out",
            md.to_str().unwrap(),
        ],
    );
    assert_owner_only(&md);
    let written = std::fs::read_to_string(&md).unwrap();
    for line in [
        "# SOAP note",
        "## SUBJECTIVE",
        "Knee pain \\*after\\* a fall, 7/10.  ",
        "## PLAN",
        "\\- Ice and rest; review in 2 weeks.  ",
    ] {
        assert!(
            written.lines().any(|l| l == line),
            "{line:?} in:\n{written}"
        );
    }
    let verified = env.ok("admin", &["audit", "verify", md.to_str().unwrap()]);
    assert!(verified.contains("VERIFIED"), "{verified}");
}
