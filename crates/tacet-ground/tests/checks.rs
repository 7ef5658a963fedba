//! Hand-written cases for each check: notes that must be flagged (`fail_`)
//! and faithful notes that must not be.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

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
                unsure: Vec::new(),
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
            section_inputs: Vec::new(),
            sentences: Vec::new(),
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
fn fail_a_sentence_resting_on_a_word_the_recogniser_was_unsure_of() {
    let mut t = transcript_with_confidence(
        &[
            "[doctor] let's start metoprolol 25 milligrams once a day .",
            "[patient] okay , and my knee still hurts .",
        ],
        0.9,
    );
    let text = &t.segments[0].text;
    let at = text.find("25").unwrap() as u32;
    t.segments[0].unsure = vec![tacet_core::TextSpan {
        start_byte: at,
        end_byte: at + 2,
    }];
    let g = ground(
        &draft(&[(
            "PLAN",
            "Start metoprolol 25 mg once a day. The knee still hurts.",
        )]),
        &t,
    );
    // The dose sentence cites the unsure "25"; the knee sentence does not.
    assert_eq!(kinds(&g, 0), vec![FlagKind::LowConfidenceSource]);
    let message = &g.sentences[0].flags[0].detail;
    assert!(
        message.contains("\"25\"") && message.contains("segment 0"),
        "{message}"
    );
    assert!(kinds(&g, 1).is_empty(), "{:?}", kinds(&g, 1));
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

fn flagged_as(d: &str, lines: &[&str], kind: FlagKind) -> bool {
    let g = ground(&draft(&[("NOTE", d)]), &transcript(lines));
    g.sentences
        .iter()
        .any(|s| s.flags.iter().any(|f| f.kind == kind))
}

// Laterality: per body part, majority, visit-wide fallback.

const FLANK: &[&str] = &[
    "[patient] i've been having this sharp pain on the right side of my abdomen below my ribs .",
    "[doctor] there is positive cva tenderness on the right flank .",
];

#[test]
fn fail_left_sided_pain_when_the_right_side_was_said() {
    assert!(flagged_as(
        "Left-sided abdominal pain.",
        FLANK,
        FlagKind::Laterality
    ));
    assert!(!flagged_as(
        "Right-sided abdominal pain.",
        FLANK,
        FlagKind::Laterality
    ));
}

#[test]
fn fail_side_at_the_end_of_a_clause() {
    assert!(flagged_as(
        "CVA tenderness on the left.",
        FLANK,
        FlagKind::Laterality
    ));
    assert!(!flagged_as(
        "CVA tenderness on the right.",
        FLANK,
        FlagKind::Laterality
    ));
}

const MOSTLY_RIGHT: &[&str] = &[
    "[doctor] she is here for right knee pain . tell me what happened .",
    "[patient] i fell and twisted it .",
    "[doctor] so you've hurt something inside of your right knee .",
    "[doctor] looking at the x-ray of your left knee , there are no fractures .",
];

#[test]
fn fail_side_the_transcript_outvotes() {
    assert!(flagged_as(
        "Left knee acute medial meniscus sprain.",
        MOSTLY_RIGHT,
        FlagKind::Laterality
    ));
    assert!(!flagged_as(
        "Right knee pain after a fall.",
        MOSTLY_RIGHT,
        FlagKind::Laterality
    ));
}

#[test]
fn one_mention_each_is_not_a_majority() {
    let t = &[
        "[doctor] you have pain in your right knee .",
        "[doctor] and your left knee is swollen .",
    ];
    assert!(!flagged_as("Right knee pain.", t, FlagKind::Laterality));
    assert!(!flagged_as("Left knee swollen.", t, FlagKind::Laterality));
}

const ELBOW: &[&str] = &[
    "[doctor] you came in for an evaluation of that right elbow pain .",
    "[patient] yes , the inside of my right elbow hurts when i lift things .",
    "[doctor] i do n't see any fracture of that right elbow .",
];

#[test]
fn fail_side_for_a_finding_the_transcript_names_without_a_side() {
    // "epicondylitis" is never said; the visit is about the right side.
    assert!(flagged_as(
        "Left medial epicondylitis.",
        ELBOW,
        FlagKind::Laterality
    ));
    assert!(!flagged_as(
        "Right medial epicondylitis.",
        ELBOW,
        FlagKind::Laterality
    ));
}

#[test]
fn a_choice_of_sides_is_not_a_side() {
    let t = &[
        "[doctor] which wrist are we talking about left or right",
        "[patient] it's my right wrist",
        "[doctor] have you ever injured this arm before",
    ];
    assert!(flagged_as(
        "She denies previous injuries to her left arm.",
        t,
        FlagKind::Laterality
    ));
    assert!(!flagged_as(
        "She denies previous injuries to her right arm.",
        t,
        FlagKind::Laterality
    ));
}

#[test]
fn fail_side_despite_bilateral_elsewhere_in_the_turn() {
    let t = &[
        "[doctor] your lungs are clear bilaterally , there is pain to palpation of the right anterior knee .",
        "[doctor] there is full range of motion of the right knee .",
    ];
    assert!(flagged_as("Left knee pain.", t, FlagKind::Laterality));
    assert!(!flagged_as("Right knee pain.", t, FlagKind::Laterality));
}

#[test]
fn a_note_naming_both_sides_is_checked_per_body_part_only() {
    let t = &["[doctor] your right elbow is weaker , four out of five ."];
    assert!(!flagged_as(
        "Strength is 4/5 on the right and 5/5 on the left.",
        t,
        FlagKind::Laterality
    ));
}

// Negation: answers, lists, statements inside questions.

#[test]
fn fail_denied_symptom_the_answer_admits() {
    let t = &[
        "[doctor] have you had any chest pain",
        "[patient] slightly here or there but i thought it was just heartburn",
        "[doctor] did you have some shortness of breath",
        "[patient] i did but i did n't think anything of it",
    ];
    assert!(flagged_as("Denies chest pain.", t, FlagKind::Negation));
    assert!(flagged_as(
        "Denies shortness of breath.",
        t,
        FlagKind::Negation
    ));
    assert!(!flagged_as(
        "Reports chest pain and shortness of breath.",
        t,
        FlagKind::Negation
    ));
}

#[test]
fn fail_statement_inside_an_unpunctuated_question() {
    let t = &[
        "[doctor] do you have any nausea vomiting any fever chills i feel nauseated but i'm not vomiting okay is anyone in your family had kidney stones",
        "[patient] my father",
    ];
    assert!(flagged_as("Denies nausea.", t, FlagKind::Negation));
    assert!(flagged_as("Reports vomiting.", t, FlagKind::Negation));
    assert!(!flagged_as(
        "Reports nausea without vomiting.",
        t,
        FlagKind::Negation
    ));
}

#[test]
fn fail_symptom_the_patient_never_had() {
    let t = &[
        "[patient] he started me on some antibiotics about six days ago and i never had any nausea or vomiting but my wife checked my temperature",
        "[doctor] okay",
    ];
    assert!(flagged_as(
        "Reports nausea and vomiting.",
        t,
        FlagKind::Negation
    ));
    assert!(!flagged_as(
        "Denies nausea or vomiting.",
        t,
        FlagKind::Negation
    ));
}

#[test]
fn fail_symptom_in_a_spoken_list_answered_no() {
    let t = &[
        "[doctor] any other symptoms like a cough or shortness of breath or dizziness or anything like that",
        "[patient] no",
    ];
    assert!(flagged_as("Reports dizziness.", t, FlagKind::Negation));
    assert!(!flagged_as("Denies dizziness.", t, FlagKind::Negation));
}

#[test]
fn fail_symptom_answered_in_the_same_turn() {
    let t = &[
        "[doctor] okay and any chest pain or shortness of breath or anything like that no no nothing",
        "[patient] and do you have a podiatrist",
    ];
    assert!(flagged_as("Reports chest pain.", t, FlagKind::Negation));
    assert!(!flagged_as("Denies chest pain.", t, FlagKind::Negation));
}

#[test]
fn fail_symptom_read_out_as_a_bare_question() {
    // Untagged, as a recogniser writes turns.
    let t = &["shortness of breath", "no shortness of breath"];
    assert!(flagged_as(
        "Reports shortness of breath.",
        t,
        FlagKind::Negation
    ));
    assert!(!flagged_as(
        "Denies shortness of breath.",
        t,
        FlagKind::Negation
    ));
}

#[test]
fn an_answer_naming_findings_speaks_for_each() {
    let t = &[
        "[doctor] okay so have you noticed any nausea chills fever",
        "[patient] no fever some chills and i ca n't eat and i do feel a little nauseous",
    ];
    assert!(flagged_as("Denies nausea.", t, FlagKind::Negation));
    assert!(flagged_as("Reports fever.", t, FlagKind::Negation));
    assert!(!flagged_as(
        "Reports nausea and chills. Denies fever.",
        t,
        FlagKind::Negation
    ));
}

#[test]
fn fail_symptom_denied_in_a_leading_question() {
    let t = &[
        "[doctor] alright and so you have n't had any chest pain you're still walking around",
        "[patient] kind of",
    ];
    assert!(flagged_as("Reports chest pain.", t, FlagKind::Negation));
    assert!(!flagged_as("Denies chest pain.", t, FlagKind::Negation));
}

// Numbers: spoken decimals, "h" for hours, a bare "one", "or" ranges.

#[test]
fn fail_size_when_a_spoken_decimal_was_said() {
    let t =
        &["[doctor] the ct scan does show a . five centimeter kidney stone in the right ureter"];
    assert!(flagged_as(
        "CT shows a 5 cm kidney stone in the right ureter.",
        t,
        FlagKind::NumberMismatch
    ));
    let g = ground(
        &draft(&[(
            "NOTE",
            "CT shows a 0.5 cm kidney stone in the right ureter.",
        )]),
        &transcript(t),
    );
    assert!(
        g.sentences[0].flags.is_empty(),
        "{:?}",
        g.sentences[0].flags
    );
    let t = &["[doctor] your temperature is ninety eight . two"];
    assert!(!flagged_as(
        "Temperature 98.2 degrees.",
        t,
        FlagKind::NumberMismatch
    ));
}

#[test]
fn fail_follow_up_interval_taken_from_a_dosing_interval() {
    let t = &[
        "[doctor] take ibuprofen six hundred milligrams q.6 h. with food and i want to see you again in a week",
    ];
    assert!(flagged_as(
        "Follow up in 6 weeks.",
        t,
        FlagKind::NumberMismatch
    ));
    assert!(!flagged_as(
        "Ibuprofen 600 mg every 6 hours with food. Follow up in 1 week.",
        t,
        FlagKind::NumberMismatch
    ));
}

#[test]
fn fail_duration_supported_only_by_a_pronoun_one() {
    let t = &["[patient] it's the right one , it started two weeks ago"];
    assert!(flagged_as("Pain for 1 week.", t, FlagKind::NumberMismatch));
    assert!(!flagged_as(
        "Pain for 2 weeks.",
        t,
        FlagKind::NumberMismatch
    ));
}

#[test]
fn fail_size_taken_from_a_range_with_another_unit() {
    let t = &[
        "[patient] i change the inserts every three or four months",
        "[doctor] the wound is about two by two centimeters",
    ];
    assert!(flagged_as(
        "The wound is approximately 2 cm x 3 cm. He changes the inserts every 3 to 4 months.",
        t,
        FlagKind::NumberMismatch
    ));
    assert!(!flagged_as(
        "The wound is approximately 2 cm x 2 cm. He changes the inserts every 3 to 4 months.",
        t,
        FlagKind::NumberMismatch
    ));
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

    /// Every sentence the splitter returns is text of the note itself (a
    /// list's number or a bullet taken off its front at most), however
    /// the spaces, stops and numbers fall.
    #[test]
    fn split_sentences_returns_only_text_of_the_note(
        parts in proptest::collection::vec(
            prop::sample::select(vec![
                "1.", "2)", "a)", "10.", "Pain", "the", "knee", "Dr.", "38.5", "mg.", ".", ".  ",
                "  ", " ", "\n", "- ", "• ", "Denies fever.", "Not discussed.", "?", "!", "é",
            ]),
            0..40,
        ),
    ) {
        let note: String = parts.concat();
        for s in split_sentences(&note) {
            prop_assert!(!s.trim().is_empty());
            prop_assert!(note.contains(s.as_str()), "{s:?} is not in {note:?}");
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

/// "Tell me, do you…" asks, although "me" comes first; "I don't have any…"
/// states, although it has "any" (MTS-Dialog validation, issue 24).
#[test]
fn fail_a_symptom_denied_after_tell_me_do_you() {
    let t = transcript(&[
        "Okay so mostly in the medial part. Tell me do you feel any weakness?",
        "No, but I do feel this tingling sensation kind of like numbness in my left hand.",
    ]);
    let g = ground(&draft(&[("HPI", "She has weakness in her arms.")]), &t);
    assert!(kinds(&g, 0).contains(&FlagKind::Negation), "{g:?}");
    let t = transcript(&["I don't have any weakness as such, just clumsiness."]);
    let g = ground(&draft(&[("HPI", "He reports weakness.")]), &t);
    assert!(kinds(&g, 0).contains(&FlagKind::Negation), "{g:?}");
    let g = ground(&draft(&[("HPI", "He denies weakness.")]), &t);
    assert!(!kinds(&g, 0).contains(&FlagKind::Negation), "{g:?}");
}

/// A spoken list whose findings carry body parts ("facial swelling, tongue
/// or lip swelling") is still one question answered by the "no" after it.
#[test]
fn fail_a_finding_with_its_body_part_denied_in_a_listed_question() {
    let t = transcript(&[
        "Any shortness of breath, wheezing, facial swelling, tongue or lip swelling, or other associated symptoms?",
        "No.",
    ]);
    for note in [
        "Some facial swelling.",
        "He has lip swelling.",
        "Some wheezing.",
    ] {
        let g = ground(&draft(&[("HPI", note)]), &t);
        assert!(kinds(&g, 0).contains(&FlagKind::Negation), "{note}: {g:?}");
    }
    let g = ground(&draft(&[("HPI", "No facial swelling.")]), &t);
    assert!(!kinds(&g, 0).contains(&FlagKind::Negation), "{g:?}");
}

/// A bare side given in answer ("which knee?" — "the right one") is about the body
/// part the question named; such a borrowed side settles which side, but it
/// never outvotes a side said with its body part ("any pain in your left
/// leg?" — "a little, not as bad as the right").
#[test]
fn fail_a_side_given_in_a_short_answer_is_about_the_body_part_asked_about() {
    let t = transcript(&["Which knee did they operate on?", "The right one."]);
    let g = ground(&draft(&[("PSH", "Left knee surgery.")]), &t);
    assert!(kinds(&g, 0).contains(&FlagKind::Laterality), "{g:?}");
    let g = ground(&draft(&[("PSH", "Right knee surgery.")]), &t);
    assert!(!kinds(&g, 0).contains(&FlagKind::Laterality), "{g:?}");
    let t = transcript(&[
        "It goes all the way down the outside of my right leg.",
        "Do you have any pain in your left leg?",
        "A little, not as bad as the right.",
    ]);
    let g = ground(
        &draft(&[("HPI", "Some of the pain goes down his left leg as well.")]),
        &t,
    );
    assert!(!kinds(&g, 0).contains(&FlagKind::Laterality), "{g:?}");
}

/// A bare "right." is agreement almost everywhere, but not in answer to a
/// question that asks which side: then it is the side of what was asked about.
#[test]
fn fail_a_bare_side_answering_which_one_is_that_side() {
    // Not from any evaluation set.
    let t = transcript(&[
        "Which ankle did you sprain?",
        "Right.",
        "And it still swells?",
    ]);
    let g = ground(&draft(&[("HPI", "Left ankle sprain.")]), &t);
    assert!(kinds(&g, 0).contains(&FlagKind::Laterality), "{g:?}");
    let g = ground(&draft(&[("HPI", "Right ankle sprain.")]), &t);
    assert!(!kinds(&g, 0).contains(&FlagKind::Laterality), "{g:?}");
    // Agreement after a question that asks nothing about sides stays agreement.
    let t = transcript(&[
        "So the ankle swells by the evening?",
        "Right.",
        "Did you sprain it?",
    ]);
    let g = ground(&draft(&[("HPI", "Left ankle sprain.")]), &t);
    assert!(!kinds(&g, 0).contains(&FlagKind::Laterality), "{g:?}");
}

/// "My left side" with no nearer body part is a side of the body: a note that
/// puts the complaint on the right is contradicted.
#[test]
fn fail_a_complaint_on_one_side_of_the_body_put_on_the_other() {
    // Not from any evaluation set.
    let t = transcript(&[
        "What brings you in?",
        "I've had this aching all along my right side since the weekend.",
    ]);
    let g = ground(
        &draft(&[("HPI", "Aching along his left side since the weekend.")]),
        &t,
    );
    assert!(kinds(&g, 0).contains(&FlagKind::Laterality), "{g:?}");
    let g = ground(
        &draft(&[("HPI", "Left flank aching since the weekend.")]),
        &t,
    );
    assert!(kinds(&g, 0).contains(&FlagKind::Laterality), "{g:?}");
    let g = ground(
        &draft(&[("HPI", "Aching along his right side since the weekend.")]),
        &t,
    );
    assert!(!kinds(&g, 0).contains(&FlagKind::Laterality), "{g:?}");
}

/// A side word that an adverb "right" stands before ("landed right on my
/// left hip") does not give the body part both sides.
#[test]
fn fail_the_nearer_side_is_the_body_parts_side() {
    // Not from any evaluation set.
    let t = transcript(&["I slipped on the ice and came down right onto my left hip."]);
    let g = ground(
        &draft(&[("HPI", "Fell onto his right hip on the ice.")]),
        &t,
    );
    assert!(kinds(&g, 0).contains(&FlagKind::Laterality), "{g:?}");
    let g = ground(&draft(&[("HPI", "Fell onto his left hip on the ice.")]), &t);
    assert!(!kinds(&g, 0).contains(&FlagKind::Laterality), "{g:?}");
}

/// The words of an examination or a review of systems are supported by the
/// plain words a visit uses for them ("lungs are clear" for "no wheezes,
/// rales, or rhonchi"; "blood in your stool" for "hematochezia"), and a
/// sentence the visit does not support is still flagged.
#[test]
fn clinical_terms_are_supported_by_the_plain_words_of_the_visit() {
    // Not from any evaluation set.
    let t = transcript(&[
        "[doctor] any blood in your stool or black stools?",
        "[patient] no, nothing like that.",
        "[doctor] your lungs are clear when i listen, and your heart sounds good, no murmur.",
        "[doctor] and your neck feels fine, your thyroid isn't enlarged.",
        "[patient] i quit smoking two years ago.",
    ]);
    let d = draft(&[
        ("ROS", "Denies hematochezia or melena."),
        ("EXAM", "No wheezes, rales, or rhonchi. No murmurs or gallops. Neck supple without thyromegaly."),
        ("SOCIAL", "Nonsmoker."),
        ("PLAN", "Start physical therapy for the shoulder."),
    ]);
    let g = ground(&d, &t);
    for (i, s) in g.sentences.iter().enumerate().take(5) {
        assert!(s.flags.is_empty(), "sentence {i} flagged: {s:?}");
    }
    assert!(kinds(&g, 5).contains(&FlagKind::Unsupported), "{g:?}");
}

/// "Everything is fine except some chills" denies the rest of the list it
/// answers and affirms the one it names.
#[test]
fn fail_a_finding_denied_by_everything_is_fine() {
    // Not from any evaluation set.
    let t = transcript(&[
        "[doctor] any fever, chills, headaches, nausea, anything like that?",
        "[patient] everything is fine except some chills.",
    ]);
    let g = ground(&draft(&[("ROS", "Reports headaches.")]), &t);
    assert!(kinds(&g, 0).contains(&FlagKind::Negation), "{g:?}");
    let g = ground(&draft(&[("ROS", "Reports chills.")]), &t);
    assert!(!kinds(&g, 0).contains(&FlagKind::Negation), "{g:?}");
}

/// A value the recogniser misheard is repeated by the transcript, so only
/// what a person's vital signs can be catches it.
#[test]
fn fail_a_vital_no_person_has_is_flagged_though_the_transcript_says_it() {
    let t = transcript(&[
        "[doctor] your temperature today is 138.5 , your heart rate is 960 and your blood pressure is 80 over 120 .",
        "[doctor] your oxygen saturation is 140 percent .",
    ]);
    let d = draft(&[
        (
            "OBJECTIVE",
            "Vital signs: temperature 138.5 °F, heart rate 960 bpm, blood pressure 80/120 mmHg. Oxygen saturation 140%.",
        ),
        ("PLAN", "Not discussed."),
    ]);
    let g = ground(&d, &t);
    let implausible: Vec<&str> = g
        .sentences
        .iter()
        .flat_map(|s| &s.flags)
        .filter(|f| f.kind == FlagKind::Implausible)
        .map(|f| f.detail.as_str())
        .collect();
    assert_eq!(implausible.len(), 4, "{implausible:?}");
    assert!(
        implausible[0].starts_with("temperature 138.5 is outside"),
        "{implausible:?}"
    );
    assert!(
        implausible[2].starts_with("blood pressure 80/120"),
        "{implausible:?}"
    );
    assert!(
        implausible
            .iter()
            .all(|d| d.contains("check it against the recording")),
        "{implausible:?}"
    );
}

#[test]
fn vital_signs_a_person_can_have_are_not_flagged() {
    let t = transcript(&[
        "[doctor] your temperature is 38.5 , that is 101.3 fahrenheit , heart rate 96 , blood pressure 120 over 80 , respiratory rate 18 and oxygen saturation 97 percent .",
        "[doctor] keep the room temperature at 68 and drink water .",
    ]);
    let d = draft(&[
        (
            "OBJECTIVE",
            "Vital signs: temperature 38.5 °C, heart rate 96 bpm, blood pressure 120/80 mmHg, respiratory rate 18 breaths per minute, oxygen saturation 97%. Temperature 101.3 °F.",
        ),
        ("PLAN", "Keep the room temperature at 68 and drink water."),
    ]);
    let g = ground(&d, &t);
    for s in &g.sentences {
        assert!(
            s.flags.iter().all(|f| f.kind != FlagKind::Implausible),
            "{:?}: {:?}",
            s.text,
            s.flags
        );
    }
}
