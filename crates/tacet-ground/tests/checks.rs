//! Hand-written cases for each check: notes that must be flagged (`fail_`)
//! and faithful notes that must not be.

use proptest::prelude::*;
use tacet_core::{Draft, DraftSection, Provenance, SamplingParams, Segment, Transcript};
use tacet_ground::{ground, render_for_review, split_sentences, FlagKind, Grounding, Resolution};

fn transcript(lines: &[&str]) -> Transcript {
    transcript_with_confidence(lines, 0.9)
}

fn transcript_with_confidence(lines: &[&str], confidence: f32) -> Transcript {
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
                confidence,
            })
            .collect(),
        model_sha256: String::new(),
    }
}

fn draft(sections: &[(&str, &str)]) -> Draft {
    Draft {
        sections: sections
            .iter()
            .map(|(h, t)| DraftSection {
                heading: (*h).to_string(),
                text: (*t).to_string(),
            })
            .collect(),
        provenance: Provenance {
            model_sha256: String::new(),
            model_id: "test".into(),
            template_id: "soap".into(),
            template_version: 1,
            sampling: SamplingParams::default(),
            prompt_tokens: 0,
            omitted_transcript_chars: 0,
        },
    }
}

fn kinds(g: &Grounding, sentence: usize) -> Vec<FlagKind> {
    g.sentences[sentence].flags.iter().map(|f| f.kind).collect()
}

const VISIT: &[&str] = &[
    "[doctor] so what brings you in today ?",
    "[patient] my left knee has been hurting for about two weeks since i fell .",
    "[doctor] any fever or chills ?",
    "[patient] no .",
    "[doctor] do you have any chest pain ?",
    "[patient] no chest pain , no .",
    "[doctor] are you taking any medications ?",
    "[patient] just aspirin , eighty one milligrams every day , and lisinopril ten milligrams .",
    "[doctor] any allergies to medications ?",
    "[patient] yes , i'm allergic to penicillin , i get hives .",
    "[doctor] your blood pressure today is one twenty over eighty and your temperature is ninety eight point six .",
    "[doctor] on exam of the left knee there is swelling and tenderness over the medial joint line .",
    "[doctor] i want you to take ibuprofen as needed and ice the knee , and come back in two weeks .",
];

#[test]
fn faithful_note_is_linked_and_unflagged() {
    let d = draft(&[
        (
            "SUBJECTIVE",
            "Left knee pain for about 2 weeks after a fall. Denies fever or chills. No chest pain.",
        ),
        (
            "MEDICATIONS",
            "Aspirin 81 mg daily.\nLisinopril 10 mg daily.\nAllergic to penicillin (hives).",
        ),
        (
            "OBJECTIVE",
            "BP 120/80. Temperature 98.6 degrees. Left knee: swelling and tenderness over the medial joint line.",
        ),
        ("PLAN", "Ibuprofen as needed and ice. Follow up in 2 weeks."),
        ("ASSESSMENT", "Not discussed."),
    ]);
    let g = ground(&d, &transcript(VISIT));
    for s in &g.sentences {
        assert!(s.flags.is_empty(), "{:?}: {:?}", s.text, s.flags);
        assert!(!s.evidence.is_empty(), "{:?} has no evidence", s.text);
    }
    // The placeholder section is not grounded.
    assert!(g.sentences.iter().all(|s| s.section != "ASSESSMENT"));
    assert_eq!(g.unresolved_flag_count(), 0);
    // Evidence carries ids and times: the knee sentence links segment 1.
    let knee = &g.sentences[0];
    assert!(knee
        .evidence
        .iter()
        .any(|e| e.segment_id == 1 && e.start_ms == 4000));
}

#[test]
fn fail_amoxicillin_after_penicillin_allergy() {
    let d = draft(&[(
        "PLAN",
        "Start amoxicillin 500 mg three times a day for 10 days.",
    )]);
    let g = ground(&d, &transcript(VISIT));
    assert!(kinds(&g, 0).contains(&FlagKind::AllergyConflict), "{:?}", g);
    let f = g.sentences[0]
        .flags
        .iter()
        .find(|f| f.kind == FlagKind::AllergyConflict)
        .unwrap();
    assert!(f.detail.contains("penicillin"));
    assert_eq!(f.evidence_segment, Some(9));
}

#[test]
fn fail_allergy_from_the_patients_own_words() {
    let t = transcript(&[
        "[patient] i'm allergic to penicillin .",
        "[doctor] okay , we'll treat the ear infection .",
    ]);
    for drug in ["Augmentin 875 mg twice daily.", "Prescribed ampicillin."] {
        let g = ground(&draft(&[("PLAN", drug)]), &t);
        assert!(kinds(&g, 0).contains(&FlagKind::AllergyConflict), "{drug}");
    }
    // A cephalosporin is flagged at lower severity, and says so.
    let g = ground(&draft(&[("PLAN", "Start cephalexin 500 mg.")]), &t);
    let f = g.sentences[0]
        .flags
        .iter()
        .find(|f| f.kind == FlagKind::AllergyConflict)
        .unwrap();
    assert!(f.detail.contains("lower severity"));
    // Documenting the allergy is not a conflict.
    let g = ground(&draft(&[("ALLERGIES", "Allergic to penicillin.")]), &t);
    assert!(!kinds(&g, 0).contains(&FlagKind::AllergyConflict));
}

#[test]
fn fail_sulfa_and_nsaid_allergies() {
    let t = transcript(&[
        "[patient] i have a sulfa allergy and i'm also allergic to ibuprofen .",
        "[doctor] okay .",
    ]);
    let g = ground(
        &draft(&[("PLAN", "Bactrim DS twice daily. Naproxen 500 mg as needed.")]),
        &t,
    );
    assert!(kinds(&g, 0).contains(&FlagKind::AllergyConflict));
    assert!(kinds(&g, 1).contains(&FlagKind::AllergyConflict));
}

#[test]
fn no_known_allergies_is_not_an_allergy() {
    let t = transcript(&[
        "[patient] no known drug allergies .",
        "[doctor] we'll start amoxicillin for the ear infection .",
    ]);
    let g = ground(
        &draft(&[("PLAN", "Start amoxicillin for the ear infection.")]),
        &t,
    );
    assert!(
        g.sentences[0].flags.is_empty(),
        "{:?}",
        g.sentences[0].flags
    );
}

#[test]
fn fail_chest_pain_the_transcript_negates() {
    let d = draft(&[("SUBJECTIVE", "The patient reports chest pain.")]);
    let g = ground(&d, &transcript(VISIT));
    assert!(kinds(&g, 0).contains(&FlagKind::Negation), "{:?}", g);
}

#[test]
fn fail_fever_asserted_after_a_no_answer() {
    let d = draft(&[("SUBJECTIVE", "Reports fever and chills.")]);
    let g = ground(&d, &transcript(VISIT));
    assert!(kinds(&g, 0).contains(&FlagKind::Negation));
}

#[test]
fn fail_swelling_denied_that_the_exam_found() {
    let d = draft(&[("OBJECTIVE", "Left knee: no swelling.")]);
    let g = ground(&d, &transcript(VISIT));
    assert!(kinds(&g, 0).contains(&FlagKind::Negation), "{:?}", g);
}

#[test]
fn fail_right_knee_when_the_left_was_examined() {
    let d = draft(&[(
        "OBJECTIVE",
        "Right knee: swelling and tenderness over the medial joint line.",
    )]);
    let g = ground(&d, &transcript(VISIT));
    assert!(kinds(&g, 0).contains(&FlagKind::Laterality), "{:?}", g);
}

#[test]
fn all_right_is_not_a_side() {
    let t = transcript(&[
        "[doctor] all right , let's look at your left knee .",
        "[doctor] right , so the left knee is swollen .",
    ]);
    let g = ground(&draft(&[("OBJECTIVE", "Left knee swollen.")]), &t);
    assert!(
        g.sentences[0].flags.is_empty(),
        "{:?}",
        g.sentences[0].flags
    );
}

#[test]
fn fail_500_mg_aspirin_when_81_was_said() {
    let d = draft(&[("MEDICATIONS", "Aspirin 500 mg daily.")]);
    let g = ground(&d, &transcript(VISIT));
    let f = g.sentences[0]
        .flags
        .iter()
        .find(|f| f.kind == FlagKind::DoseMismatch)
        .expect("dose flag");
    assert!(f.detail.contains("500 mg"), "{}", f.detail);
    assert!(f.detail.contains("81 mg"), "{}", f.detail);
}

#[test]
fn fail_dose_said_for_another_drug() {
    // 10 mg was said, but for lisinopril, not aspirin.
    let d = draft(&[("MEDICATIONS", "Aspirin 10 mg daily.")]);
    let g = ground(&d, &transcript(VISIT));
    assert!(kinds(&g, 0).contains(&FlagKind::DoseMismatch), "{:?}", g);
}

#[test]
fn fail_blood_pressure_and_vitals_misread() {
    let d = draft(&[("OBJECTIVE", "BP 130/80. Temperature 101.2 degrees.")]);
    let g = ground(&d, &transcript(VISIT));
    assert!(kinds(&g, 0).contains(&FlagKind::NumberMismatch));
    assert!(kinds(&g, 1).contains(&FlagKind::NumberMismatch));
    let detail = &g.sentences[0].flags[0].detail;
    assert!(detail.contains("120/80"), "{detail}");
}

#[test]
fn fail_invented_medication() {
    let d = draft(&[(
        "PLAN",
        "Start metformin 500 mg twice daily. Continue Eliquis.",
    )]);
    let g = ground(&d, &transcript(VISIT));
    assert!(kinds(&g, 0).contains(&FlagKind::UnknownMedication));
    assert!(kinds(&g, 1).contains(&FlagKind::UnknownMedication));
    // A brand name matches its generic.
    let t = transcript(&["[patient] i take furosemide forty milligrams every morning ."]);
    let g = ground(&draft(&[("MEDICATIONS", "Lasix 40 mg every morning.")]), &t);
    assert!(
        g.sentences[0].flags.is_empty(),
        "{:?}",
        g.sentences[0].flags
    );
}

#[test]
fn fail_unsupported_sentence() {
    let d = draft(&[(
        "HPI",
        "She recently traveled to Brazil and went scuba diving.",
    )]);
    let g = ground(&d, &transcript(VISIT));
    assert_eq!(kinds(&g, 0), vec![FlagKind::Unsupported]);
    assert!(g.sentences[0].evidence.is_empty());
}

#[test]
fn fail_low_confidence_source() {
    let t = transcript_with_confidence(
        &["[patient] my left knee has been hurting for two weeks ."],
        0.3,
    );
    let g = ground(&draft(&[("HPI", "Left knee pain for 2 weeks.")]), &t);
    assert_eq!(kinds(&g, 0), vec![FlagKind::LowConfidenceSource]);
}

#[test]
fn resolving_flags_counts_down_and_renders() {
    let d = draft(&[(
        "PLAN",
        "Start amoxicillin 500 mg three times a day. Ice the knee.",
    )]);
    let mut g = ground(&d, &transcript(VISIT));
    let n = g.unresolved_flag_count();
    assert!(n >= 1);
    let text = render_for_review(&g);
    assert!(text.contains("!! Start amoxicillin"), "{text}");
    assert!(text.contains("allergy:"), "{text}");
    assert!(text.contains("   Ice the knee."), "{text}");
    for i in 0..g.sentences[0].flags.len() {
        assert!(g.resolve(0, i, Resolution::Removed));
    }
    assert_eq!(g.unresolved_flag_count(), 0);
    assert!(!g.resolve(5, 0, Resolution::Edited));
    assert!(render_for_review(&g).contains("(removed)"));
}

#[test]
fn splits_notes_into_sentences() {
    let s = split_sentences("• BP 120/80.\n- Temp 38.5 C. Seen by Dr. Lee.\nNot discussed.");
    assert_eq!(s, vec!["BP 120/80.", "Temp 38.5 C.", "Seen by Dr. Lee."]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn ground_never_panics(
        note in "\\PC{0,300}",
        lines in proptest::collection::vec("\\PC{0,120}", 0..6),
        conf in 0.0f32..1.0,
    ) {
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        let t = transcript_with_confidence(&refs, conf);
        let g = ground(&draft(&[("NOTE", &note)]), &t);
        let _ = render_for_review(&g);
        for s in &g.sentences {
            for e in &s.evidence {
                prop_assert!((0.0..=1.0001).contains(&e.score));
            }
        }
    }

    #[test]
    fn ground_never_panics_on_clinical_words(
        words in proptest::collection::vec(
            prop::sample::select(vec![
                "no", "left", "right", "knee", "fever", "denies", "allergic", "to", "penicillin",
                "amoxicillin", "mg", "120", "/", "over", "80", "one", "hundred", "point", "five",
                ".", ",", "?", "twenty", "a", "week", "-", "not", "n't", "any", "bilateral",
            ]),
            0..60,
        ),
    ) {
        let text = words.join(" ");
        let t = transcript(&[&text, &text]);
        let _ = ground(&draft(&[("NOTE", &text)]), &t);
    }
}
