//! The export formats against fixed inputs. Each directory under
//! `tests/data/` is a case: `case.toml` (template, session, reviewer,
//! attestation time, patient reference), `note.txt` (the attested text),
//! `checkpoint.txt`, and the expected outputs `expected.fhir.json` and
//! `expected.txt`. Set `TACET_BLESS=1` to (re)write the expected files
//! after a deliberate change, then read the diff.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

use base64ct::{Base64, Encoding};
use serde_json::Value;
use std::path::{Path, PathBuf};
use tacet_core::{AttestedNote, GateError, PatientRef, SessionId, Template, UserName};
use tacet_export::{
    fhir, pdf, render, render_fhir, render_markdown, render_pdf, render_text, section_text,
    sections, ExportError, ExportMeta, Format, CHECKPOINT_INTRO,
};

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

fn template(id: &str) -> Template {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../assets/templates")
        .join(format!("{id}.toml"));
    Template::from_toml(&std::fs::read_to_string(path).unwrap()).unwrap()
}

struct Case {
    name: String,
    dir: PathBuf,
    note: AttestedNote,
    meta: ExportMeta,
    patient: PatientRef,
}

fn cases() -> Vec<Case> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(data_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("case.toml").exists())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 2, "the fixtures are missing");
    dirs.into_iter()
        .map(|dir| {
            let case: toml::Table =
                toml::from_str(&std::fs::read_to_string(dir.join("case.toml")).unwrap()).unwrap();
            let s = |k: &str| case[k].as_str().unwrap().to_string();
            let note = AttestedNote::attest(
                s("session").parse::<SessionId>().unwrap(),
                std::fs::read_to_string(dir.join("note.txt")).unwrap(),
                UserName(s("reviewer")),
                case["attested_at_unix_ms"].as_integer().unwrap() as u64,
            )
            .unwrap();
            let meta = ExportMeta::new(
                &template(&s("template")),
                std::fs::read_to_string(dir.join("checkpoint.txt")).unwrap(),
            );
            Case {
                name: dir.file_name().unwrap().to_string_lossy().into_owned(),
                dir,
                note,
                meta,
                patient: PatientRef::new(s("patient")),
            }
        })
        .collect()
}

fn attest(text: &str) -> AttestedNote {
    AttestedNote::attest(
        SessionId([0xab; 16]),
        text.into(),
        UserName("dr.test".into()),
        1_700_000_000_000,
    )
    .unwrap()
}

fn soap_meta() -> ExportMeta {
    ExportMeta::new(
        &template("soap"),
        "tacet.test/log\n1\nAAAA\n\n\u{2014} tacet.test/log sig\n",
    )
}

fn fhir_json(note: &AttestedNote, meta: &ExportMeta, patient: &str) -> Value {
    serde_json::from_slice(&render_fhir(note, meta, &PatientRef::new(patient)).unwrap()).unwrap()
}

/// Compares with the expected file, or writes it under `TACET_BLESS=1`.
fn expect_file(path: &Path, actual: &[u8]) {
    if std::env::var_os("TACET_BLESS").is_some() {
        std::fs::write(path, actual).unwrap();
        return;
    }
    let expected = std::fs::read(path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with TACET_BLESS=1 to create it)",
            path.display()
        )
    });
    assert!(
        expected == actual,
        "{} differs from the rendering:\n{}",
        path.display(),
        String::from_utf8_lossy(actual)
    );
}

#[test]
fn fixtures_render_as_expected() {
    for c in cases() {
        let json = render_fhir(&c.note, &c.meta, &c.patient).unwrap();
        expect_file(&c.dir.join("expected.fhir.json"), &json);
        let text = render_text(&c.note, &c.meta).unwrap();
        expect_file(&c.dir.join("expected.txt"), text.as_bytes());
        let markdown = render_markdown(&c.note, &c.meta).unwrap();
        expect_file(&c.dir.join("expected.md"), markdown.as_bytes());
        // Rendering is deterministic.
        assert_eq!(
            render_fhir(&c.note, &c.meta, &c.patient).unwrap(),
            json,
            "{}",
            c.name
        );
        assert_eq!(
            render_pdf(&c.note, &c.meta).unwrap(),
            render_pdf(&c.note, &c.meta).unwrap()
        );
    }
}

#[test]
fn the_fhir_attachment_is_exactly_the_attested_text() {
    let texts = [
        "PLAN:\nRest.\n".to_string(),
        "SUBJECTIVE:\r\nÜbelkeit, 日本語, \u{1F600}, ≥ 5 mg\r\n\r\nPLAN:\n\t(nothing)\n"
            .to_string(),
        std::fs::read_to_string(data_dir().join("hp/note.txt")).unwrap(),
    ];
    for text in texts {
        let note = attest(&text);
        let v = fhir_json(&note, &soap_meta(), "MRN-1");
        let att = &v["content"][0]["attachment"];
        let data = Base64::decode_vec(att["data"].as_str().unwrap()).unwrap();
        assert_eq!(data, text.as_bytes());
        assert_eq!(att["size"].as_u64().unwrap(), text.len() as u64);
        assert_eq!(att["contentType"], "text/plain; charset=utf-8");
    }
}

#[test]
fn the_fhir_hash_is_base64_sha1() {
    // FIPS 180 test vector: SHA-1("abc").
    let v = fhir_json(&attest("abc"), &soap_meta(), "MRN-1");
    assert_eq!(
        v["content"][0]["attachment"]["hash"],
        "qZk+NkcGgWq6PiVxeFDCbJzQ2J0="
    );
}

#[test]
fn us_core_required_elements_are_present() {
    for c in cases() {
        let v: Value =
            serde_json::from_slice(&render_fhir(&c.note, &c.meta, &c.patient).unwrap()).unwrap();
        assert_eq!(v["resourceType"], "DocumentReference");
        assert_eq!(v["meta"]["profile"][0], fhir::US_CORE_PROFILE);
        assert_eq!(v["status"], "current");
        assert_eq!(v["docStatus"], "final");
        let coding = &v["type"]["coding"][0];
        assert_eq!(coding["system"], "http://loinc.org");
        assert_eq!(coding["code"], c.meta.document_code.code.as_str());
        assert!(coding["display"].is_string());
        let cat = &v["category"][0]["coding"][0];
        assert_eq!(cat["system"], fhir::US_CORE_CATEGORY_SYSTEM);
        assert_eq!(cat["code"], "clinical-note");
        assert_eq!(v["subject"]["type"], "Patient");
        assert_eq!(v["subject"]["identifier"]["value"], c.patient.expose());
        assert!(v["date"].as_str().unwrap().ends_with('Z'));
        assert_eq!(
            v["author"][0]["display"],
            c.note.attestation().reviewer.0.as_str()
        );
        let content = &v["content"][0];
        assert!(content["attachment"]["data"].is_string());
        assert_eq!(content["format"]["system"], fhir::IHE_FORMAT_SYSTEM);
        let ext = &v["meta"]["extension"][0];
        assert_eq!(ext["url"], fhir::CHECKPOINT_EXTENSION);
        assert_eq!(ext["valueString"], c.meta.checkpoint.as_str());
        assert_eq!(v["identifier"][0]["system"], "urn:tacet:session");
        assert_eq!(
            v["identifier"][0]["value"],
            c.note.session().to_string().as_str()
        );
    }
}

#[test]
fn the_template_decides_the_loinc_code() {
    let note = attest("CHIEF COMPLAINT:\nCough.\n");
    let hp = fhir_json(&note, &ExportMeta::new(&template("hp"), "cp"), "x");
    assert_eq!(hp["type"]["coding"][0]["code"], "34117-2");
    assert_eq!(
        hp["type"]["coding"][0]["display"],
        "History and physical note"
    );
    for id in ["soap", "progress", "dap", "birp", "girp"] {
        let v = fhir_json(&note, &ExportMeta::new(&template(id), "cp"), "x");
        assert_eq!(v["type"]["coding"][0]["code"], "11506-3", "{id}");
        assert_eq!(v["type"]["coding"][0]["display"], "Progress note", "{id}");
    }
    let gone = fhir_json(&note, &ExportMeta::without_template("retired", "cp"), "x");
    assert_eq!(gone["type"]["coding"][0]["code"], "11506-3");
}

#[test]
fn the_text_file_is_the_note_then_the_checkpoint() {
    let c = &cases()[0];
    let text = render_text(&c.note, &c.meta).unwrap();
    assert!(text.starts_with(c.note.text()));
    assert_eq!(
        text,
        format!(
            "{}\n-----\nTacet audit checkpoint at export (keep it with the note; `tacet audit verify` checks the log against it):\n{}",
            c.note.text(),
            c.meta.checkpoint
        )
    );
    // `tacet audit verify` finds the checkpoint after the marker.
    let at = text.rfind("-----\nTacet audit checkpoint").unwrap();
    let (_, found) = text[at..].split_once(":\n").unwrap();
    assert_eq!(found, c.meta.checkpoint);
    assert!(CHECKPOINT_INTRO.starts_with("\n-----\n"));
    assert_eq!(
        render(Format::Text, &c.note, &c.meta, None).unwrap(),
        text.into_bytes()
    );
}

#[test]
fn sections_are_verbatim_slices_with_stable_headings() {
    for c in cases() {
        let found = sections(&c.note, &c.meta);
        let headings: Vec<&str> = found.iter().map(|s| s.heading).collect();
        assert_eq!(headings, c.meta.headings, "{}", c.name);
        for s in &found {
            assert!(c.note.text().contains(s.text));
            assert!(s.text.starts_with(&format!("{}:\n", s.heading)));
            assert!(s.text.ends_with('\n') && !s.text.ends_with("\n\n"));
            // The same text the review screen copies for a section.
            let body = s.text.split_once('\n').unwrap().1;
            assert_eq!(s.text, tacet_export::canonical_section(s.heading, body));
        }
        // Concatenated with the blank lines between them, they are the note.
        let joined: Vec<&str> = found.iter().map(|s| s.text).collect();
        assert_eq!(joined.join("\n"), c.note.text(), "{}", c.name);
    }
    let c = &cases()[1];
    assert_eq!(
        section_text(&c.note, &c.meta, "PLAN").unwrap(),
        "PLAN:\nRest, ice, review in 2 weeks; MRI if no better.\n"
    );
}

#[test]
fn sections_without_a_template_use_upper_case_headings() {
    let note = attest("Preamble line.\nFIRST PART:\nA.\nNot a heading:\nB.\n\nSECOND:\nC.");
    let meta = ExportMeta::without_template("gone", "cp");
    let s = sections(&note, &meta);
    assert_eq!(s.len(), 2);
    assert_eq!(s[0].text, "FIRST PART:\nA.\nNot a heading:\nB.\n");
    // The last section keeps the note's own ending (here, none).
    assert_eq!(s[1].text, "SECOND:\nC.");
}

#[test]
fn a_long_note_paginates_and_wraps() {
    let sentence = "The patient describes intermittent pain that is worse in the morning and eases with movement. ";
    let mut text = String::new();
    for h in ["SUBJECTIVE", "OBJECTIVE", "ASSESSMENT", "PLAN"] {
        text.push_str(&format!("{h}:\n"));
        for _ in 0..40 {
            text.push_str(&sentence.repeat(3));
            text.push('\n');
        }
        text.push('\n');
    }
    let note = attest(&text);
    let meta = soap_meta();
    let bytes = render_pdf(&note, &meta).unwrap();
    assert!(bytes.starts_with(b"%PDF-1.4"));
    let s = String::from_utf8_lossy(&bytes);
    // 160 paragraphs of ~290 characters: each wraps to 3 lines at about
    // 100 characters a line, so ~500 lines of 12.5 pt, 59 to a page.
    let logical = pdf::page_count(&tacet_export::pdf_lines(&note, &meta).unwrap());
    assert!((8..=11).contains(&logical), "{logical} pages");
    assert!(
        s.contains(&format!("/Count {logical} ")),
        "page count in the PDF"
    );
    assert!(s.contains(&format!("(Page {logical} of {logical})")));
    let tj_lines = s.matches(") Tj ET").count();
    assert!(
        tj_lines > text.lines().count() * 2,
        "long lines are wrapped"
    );
    assert!(s.contains("(SUBJECTIVE:) Tj"));
}

#[test]
fn a_pdf_of_non_latin_text_says_what_it_replaced() {
    let note = attest("SUBJECTIVE:\n患者は頭痛を訴える。 ≥ 5 mg, β-blocker, 37 °C, Müller\n");
    let bytes = render_pdf(&note, &soap_meta()).unwrap();
    let s: String = bytes.iter().map(|&b| char::from(b)).collect();
    assert!(s.contains(">= 5 mg, beta-blocker, 37 \u{b0}C, M\u{fc}ller"));
    assert!(s.contains("10 character\\(s\\) of the note are outside this PDF's font"));
}

#[test]
fn fail_an_empty_note_cannot_be_attested_so_never_exported() {
    // The gate, not this crate, refuses: there is no `AttestedNote` to export.
    let err = AttestedNote::attest(SessionId([1; 16]), " \n".into(), UserName("dr".into()), 1);
    assert_eq!(err.unwrap_err(), GateError::Empty);
}

#[test]
fn fail_fhir_without_a_patient_reference() {
    let note = attest("PLAN:\nRest.\n");
    assert_eq!(
        render_fhir(&note, &soap_meta(), &PatientRef::new("  ")).unwrap_err(),
        ExportError::NoPatientReference
    );
    assert_eq!(
        render(Format::Fhir, &note, &soap_meta(), None).unwrap_err(),
        ExportError::NoPatientReference
    );
}

#[test]
fn fail_without_a_checkpoint() {
    let note = attest("PLAN:\nRest.\n");
    let meta = ExportMeta::new(&template("soap"), " \n");
    for f in Format::ALL {
        assert_eq!(
            render(f, &note, &meta, Some(&PatientRef::new("x"))).unwrap_err(),
            ExportError::NoCheckpoint,
            "{f:?}"
        );
    }
}

#[test]
fn fail_an_unknown_section() {
    let note = attest("PLAN:\nRest.\n");
    let err = section_text(&note, &soap_meta(), "DIAGNOSIS").unwrap_err();
    assert_eq!(err, ExportError::NoSuchSection("DIAGNOSIS".into()));
    // Errors never echo note text.
    assert!(!err.to_string().contains("Rest"));
}

#[test]
fn formats_round_trip_through_their_names() {
    for f in Format::ALL {
        assert_eq!(Format::parse(f.name()), Some(f));
    }
    assert_eq!(Format::parse("docx"), None);
}
