//! Issue 22, low: a flag counted as resolved after a one-character or a
//! zero-width edit of its sentence. Attestation now grounds an edited
//! flagged sentence again, as edited: an edit that keeps the wrong dose
//! keeps the flag, a real correction clears it, removing the sentence
//! clears it, and invisible characters change nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

use tacet_core::{Draft, DraftSection, Provenance, SamplingParams, Segment, Transcript};

fn transcript() -> Transcript {
    let lines = [
        "What medicines are you taking?",
        "I take aspirin 81 milligrams every morning.",
        "Any allergies?",
        "No allergies.",
    ];
    Transcript {
        language: "en".into(),
        segments: lines
            .iter()
            .enumerate()
            .map(|(i, t)| Segment {
                id: i as u32,
                start_ms: i as u64 * 4000,
                end_ms: i as u64 * 4000 + 3900,
                speaker: None,
                text: (*t).to_string(),
                confidence: 0.9,
                unsure: Vec::new(),
            })
            .collect(),
        model_sha256: String::new(),
    }
}

fn draft() -> Draft {
    Draft {
        sections: vec![DraftSection {
            heading: "SUBJECTIVE".into(),
            text: "Takes aspirin 500 mg every morning. No allergies.".into(),
        }],
        provenance: Provenance {
            model_sha256: String::new(),
            model_id: "test".into(),
            template_id: "soap".into(),
            template_version: 1,
            sampling: SamplingParams::default(),
            prompt_tokens: 0,
            omitted_transcript_chars: 0,
            section_inputs: Vec::new(),
            sentences: Vec::new(),
        },
    }
}

fn open(text: &str) -> usize {
    let (d, t) = (draft(), transcript());
    let g = tacet_ground::ground(&d, &t);
    tacet_app::open_flags_after_edits(&g, text, &d, &t)
}

#[test]
fn fail_an_edit_that_keeps_the_wrong_dose_keeps_its_flag() {
    let kept = "SUBJECTIVE:\nTakes aspirin 500 mg every morning. No allergies.\n";
    let flags = open(kept);
    assert!(flags >= 1, "the draft's dose flag: {flags}");
    for edited in [
        // One character.
        "SUBJECTIVE:\nTakes aspirin 500 mg every morning! No allergies.\n",
        "SUBJECTIVE:\nTakes aspirin 500 mg every morningg. No allergies.\n",
        // A zero-width space and a soft hyphen: the same sentence to a reader.
        "SUBJECTIVE:\nTakes aspi\u{200B}rin 500 mg every morning. No allergies.\n",
        "SUBJECTIVE:\nTakes aspirin 500 mg every mor\u{00AD}ning. No allergies.\n",
        // Reworded around the same wrong dose.
        "SUBJECTIVE:\nThe patient takes aspirin 500 mg each morning. No allergies.\n",
    ] {
        assert!(open(edited) >= 1, "{edited:?} cleared the flag");
    }
}

#[test]
fn a_real_correction_or_removal_clears_the_flag() {
    assert_eq!(
        open("SUBJECTIVE:\nTakes aspirin 81 mg every morning. No allergies.\n"),
        0
    );
    assert_eq!(open("SUBJECTIVE:\nNo allergies.\n"), 0);
}
