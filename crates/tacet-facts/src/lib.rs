//! tacet-facts: the visit read as facts, and the note composed from them.
//!
//! Small local models cannot write a note a clinician can sign, and larger
//! ones write sentences nobody can trust unseen. So the note is built from
//! what the transcript says, each sentence carrying the segments it rests
//! on:
//!
//! 1. [`roles`]: who says each sentence (a two-channel recording says it;
//!    otherwise the dialogue: questions and answers, "your" and "my").
//! 2. [`extract`]: typed facts from the utterances — symptoms present or
//!    denied (a "no" to the clinician's question is a denial), medications
//!    with dose and frequency and what is done with them, allergies with the
//!    reaction, vital signs with units, and the clinician's findings,
//!    results, impression, plan and follow-up, each as a note sentence in the
//!    third person, with its segment ids.
//! 3. [`compose()`]: each template section draws the kinds of fact it names
//!    (`draws` in the template, else chosen from its heading), in the visit's
//!    order; a section with none says "Not discussed.".
//!
//! [`ComposedDrafter`] is the [`Drafter`] the app uses by default. Pure
//! functions, no I/O, no model; the cue phrases are data
//! (`data/cues.toml`), and drug, symptom, body-part and unit words are
//! tacet-ground's own lists ([`tacet_ground::vocab`]), so the composer and
//! the grounding checks read words the same way.

mod cues;
pub mod extract;
pub mod rephrase;
pub mod roles;
pub mod text;

use std::sync::atomic::{AtomicBool, Ordering};
use tacet_core::ports::{DraftProgress, Drafter, EngineError};
use tacet_core::{
    Draft, DraftSection, Provenance, SamplingParams, SentenceOrigin, SentenceSource, Template,
    TemplateSection, Transcript,
};

pub use roles::{Role, Utterance};
pub use text::Gender;

/// What a section with no facts says, in so many words.
pub const NOT_DISCUSSED: &str = "Not discussed.";

/// The id a composed draft's provenance names as its "model".
pub const COMPOSER_ID: &str = "tacet-composer";

/// The kinds of fact (the names templates use in `draws`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FactKind {
    Complaint,
    History,
    PastHistory,
    SymptomsReviewed,
    Medications,
    Allergies,
    Vitals,
    Exam,
    Results,
    Assessment,
    Plan,
    FollowUp,
    ClientReport,
    Observations,
    Interventions,
    Response,
    Goals,
}

impl FactKind {
    pub fn from_name(name: &str) -> Option<Self> {
        use FactKind::*;
        Some(match name {
            "complaint" => Complaint,
            "history" => History,
            "past-history" => PastHistory,
            "symptoms-reviewed" => SymptomsReviewed,
            "medications" => Medications,
            "allergies" => Allergies,
            "vitals" => Vitals,
            "exam" => Exam,
            "results" => Results,
            "assessment" => Assessment,
            "plan" => Plan,
            "follow-up" => FollowUp,
            "client-report" => ClientReport,
            "observations" => Observations,
            "interventions" => Interventions,
            "response" => Response,
            "goals" => Goals,
            _ => return None,
        })
    }
}

/// The typed content of a fact, where it has more than its sentence.
#[derive(Clone, Debug, PartialEq)]
pub enum Detail {
    None,
    Symptom {
        name: String,
        present: bool,
    },
    Medication {
        name: String,
        dose: Option<String>,
        frequency: Option<String>,
    },
    Allergy {
        /// Empty for "no known drug allergies".
        allergen: String,
        reaction: Option<String>,
    },
    Vital {
        name: String,
        value: String,
    },
}

/// One fact of the visit: its kind, the note sentence that states it, and
/// the transcript segments it was read from.
#[derive(Clone, Debug, PartialEq)]
pub struct Fact {
    pub kind: FactKind,
    pub sentence: String,
    pub segments: Vec<u32>,
    pub detail: Detail,
}

/// Everything read from one visit.
#[derive(Clone, Debug, PartialEq)]
pub struct VisitFacts {
    pub utterances: Vec<Utterance>,
    pub gender: Gender,
    pub facts: Vec<Fact>,
}

/// Reads a transcript: roles, then facts. `therapy` reads it as a therapy
/// session (client report, observations, interventions, response, goals).
pub fn read_visit(transcript: &Transcript, therapy: bool) -> VisitFacts {
    let c = cues::cues();
    let utterances = roles::assign(transcript, c);
    let gender = extract::gender(&utterances);
    let mut facts = extract::facts(&utterances, gender, c, therapy);
    if let Some(cc) = complaint(&utterances, &facts) {
        facts.insert(0, cc);
    }
    VisitFacts {
        utterances,
        gender,
        facts,
    }
}

/// The reason for the visit: the clinician's "here for …"/"presents
/// for …", else the symptoms of the patient's first answer with any.
fn complaint(utts: &[Utterance], facts: &[Fact]) -> Option<Fact> {
    for u in utts.iter().filter(|u| u.role == Role::Clinician) {
        for cue in [
            "presents for ",
            "here for ",
            "here today for ",
            "in for ",
            "presents with ",
        ] {
            if let Some(at) = u.lower.find(cue) {
                let what: String = u.lower[at + cue.len()..]
                    .split([',', '.', ';', '?'])
                    .next()
                    .unwrap_or("")
                    .trim()
                    .trim_start_matches("his ")
                    .trim_start_matches("her ")
                    .trim_start_matches("your ")
                    .trim_start_matches("a ")
                    .trim_start_matches("an ")
                    .to_string();
                if !what.is_empty() && what.split_whitespace().count() <= 8 {
                    return Some(Fact {
                        kind: FactKind::Complaint,
                        sentence: text::as_sentence(&what),
                        segments: vec![u.segment],
                        detail: Detail::None,
                    });
                }
            }
        }
    }
    // The first present symptoms, read from one segment.
    let first = facts
        .iter()
        .find(|f| matches!(f.detail, Detail::Symptom { present: true, .. }))?;
    let seg = *first.segments.last()?;
    let names: Vec<&str> = facts
        .iter()
        .filter(|f| f.segments.last() == Some(&seg))
        .filter_map(|f| match &f.detail {
            Detail::Symptom {
                name,
                present: true,
            } => Some(name.as_str()),
            _ => None,
        })
        .collect();
    Some(Fact {
        kind: FactKind::Complaint,
        sentence: text::as_sentence(&join_and(&names)),
        segments: vec![seg],
        detail: Detail::None,
    })
}

fn join_and(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// The kinds a section draws: its template's `draws`, else chosen from its
/// heading and guidance (a practice's own template without `draws`).
pub fn section_kinds(section: &TemplateSection) -> Vec<FactKind> {
    if !section.draws.is_empty() {
        return section
            .draws
            .iter()
            .filter_map(|d| FactKind::from_name(d))
            .collect();
    }
    use FactKind::*;
    let h = section.heading.to_lowercase();
    let has = |w: &str| h.contains(w);
    let mut kinds = Vec::new();
    if has("chief complaint") || has("reason") {
        kinds.push(Complaint);
    }
    if has("subjective") || has("history of present") || has("interval") || has("hpi") {
        kinds.extend([History, SymptomsReviewed, Medications, Allergies]);
    } else if has("past") || has("history") {
        kinds.extend([PastHistory, Medications, Allergies]);
    }
    if has("review of systems") || has("ros") {
        kinds.push(SymptomsReviewed);
    }
    if has("medication") {
        kinds.push(Medications);
    }
    if has("allerg") {
        kinds.push(Allergies);
    }
    if has("objective") || has("vital") || has("finding") {
        kinds.extend([Vitals, Exam, Results]);
    } else if has("exam") {
        kinds.extend([Vitals, Exam]);
    }
    if has("result") || has("lab") || has("imaging") {
        kinds.push(Results);
    }
    if has("assessment") || has("impression") || has("diagnos") {
        kinds.push(Assessment);
    }
    if has("plan") || has("recommend") || has("treatment") {
        kinds.extend([Plan, FollowUp]);
    }
    if has("follow") {
        kinds.push(FollowUp);
    }
    if has("data") || has("behavio") {
        kinds.extend([ClientReport, Observations]);
    }
    if has("intervention") {
        kinds.push(Interventions);
    }
    if has("response") {
        kinds.push(Response);
    }
    if has("goal") {
        kinds.push(Goals);
    }
    kinds.dedup();
    kinds
}

/// Whether a template is read as a therapy session.
fn is_therapy(template: &Template) -> bool {
    template.sections.iter().any(|s| {
        section_kinds(s).iter().any(|k| {
            matches!(
                k,
                FactKind::ClientReport
                    | FactKind::Interventions
                    | FactKind::Response
                    | FactKind::Goals
            )
        })
    })
}

/// One composed sentence and its segments.
#[derive(Clone, Debug, PartialEq)]
pub struct ComposedSentence {
    pub text: String,
    pub segments: Vec<u32>,
}

/// The composed note: per section, its sentences.
#[derive(Clone, Debug, PartialEq)]
pub struct ComposedNote {
    pub sections: Vec<(String, Vec<ComposedSentence>)>,
}

/// Composes the note: each section's kinds of fact in the visit's order.
pub fn compose(visit: &VisitFacts, template: &Template) -> ComposedNote {
    let mut sections = Vec::new();
    for section in &template.sections {
        let kinds = section_kinds(section);
        let mut out: Vec<ComposedSentence> = Vec::new();
        let draws_history = kinds.contains(&FactKind::History);
        for kind in &kinds {
            match kind {
                FactKind::Vitals => {
                    let vit: Vec<&Fact> = visit
                        .facts
                        .iter()
                        .filter(|f| f.kind == FactKind::Vitals)
                        .collect();
                    let mut seen = Vec::new();
                    let mut parts = Vec::new();
                    let mut segs = Vec::new();
                    for f in vit {
                        if let Detail::Vital { name, value } = &f.detail {
                            if seen.contains(name) {
                                continue;
                            }
                            seen.push(name.clone());
                            parts.push(format!("{name} {value}"));
                            segs.extend(f.segments.iter().copied());
                        }
                    }
                    if !parts.is_empty() {
                        segs.dedup();
                        let parts: Vec<String> = parts.iter().map(|p| lower_first(p)).collect();
                        let s = text::as_sentence(&format!("Vital signs: {}", parts.join(", ")));
                        out.push(ComposedSentence {
                            text: s,
                            segments: segs,
                        });
                    }
                }
                FactKind::SymptomsReviewed => {
                    symptoms_reviewed(visit, draws_history, &mut out);
                }
                FactKind::Allergies => {
                    let all: Vec<&Fact> = visit
                        .facts
                        .iter()
                        .filter(|f| f.kind == FactKind::Allergies)
                        .collect();
                    let named: Vec<&&Fact> = all
                        .iter()
                        .filter(|f| matches!(&f.detail, Detail::Allergy { allergen, .. } if !allergen.is_empty()))
                        .collect();
                    let chosen: Vec<&Fact> = if named.is_empty() {
                        all.into_iter().take(1).collect()
                    } else {
                        named.into_iter().copied().collect()
                    };
                    for f in chosen {
                        push_unique(&mut out, f);
                    }
                }
                FactKind::Complaint if kinds.len() > 1 => {
                    for f in visit.facts.iter().filter(|f| f.kind == FactKind::Complaint) {
                        let mut f = f.clone();
                        f.sentence = format!("Chief complaint: {}", lower_first(&f.sentence));
                        push_unique(&mut out, &f);
                    }
                }
                k => {
                    for f in visit.facts.iter().filter(|f| f.kind == *k) {
                        push_unique(&mut out, f);
                    }
                }
            }
        }
        sections.push((section.heading.clone(), out));
    }
    ComposedNote { sections }
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// Whether a composed sentence is still a question someone asked ("Do you
/// notice any pain when you urinate.", "When do the patient has to have the
/// surgery."): speech without punctuation hides the question mark, and a
/// question states no fact. Such a sentence is left out rather than turned
/// into a statement (which could assert what nobody said); the facts in its
/// answer are read separately (symptoms, medications…).
pub fn is_question(sentence: &str) -> bool {
    const OPENERS: &[&str] = &[
        "do you ",
        "did you ",
        "have you ",
        "are you ",
        "were you ",
        "can you ",
        "could you ",
        "would you ",
        "is there ",
        "are there ",
        "do the patient ",
        "does the patient ",
        "did the patient ",
        "is the patient ",
        "has the patient ",
        "when do ",
        "when does ",
        "how do ",
        "how does ",
        "what do you ",
        "what does ",
        "where do ",
        "why do ",
    ];
    let lower = sentence.trim_start().to_lowercase();
    OPENERS.iter().any(|o| lower.starts_with(o))
}

fn push_unique(out: &mut Vec<ComposedSentence>, f: &Fact) {
    if is_question(&f.sentence) {
        return;
    }
    let key = |s: &str| s.to_lowercase().replace(['.', ','], "");
    if out.iter().any(|s| key(&s.text) == key(&f.sentence)) {
        return;
    }
    out.push(ComposedSentence {
        text: f.sentence.clone(),
        segments: f.segments.clone(),
    });
}

/// "Reports fever and cough. Denies chest pain." A symptom both reported
/// and denied counts as reported (the patient said it somewhere). Where the
/// section also tells the history, the reported ones are in it already.
fn symptoms_reviewed(visit: &VisitFacts, with_history: bool, out: &mut Vec<ComposedSentence>) {
    let mut present: Vec<(&str, Vec<u32>)> = Vec::new();
    let mut denied: Vec<(&str, Vec<u32>)> = Vec::new();
    for f in &visit.facts {
        if let Detail::Symptom { name, present: p } = &f.detail {
            let list = if *p { &mut present } else { &mut denied };
            match list.iter_mut().find(|(n, _)| *n == name.as_str()) {
                Some((_, segs)) => segs.extend(f.segments.iter().copied()),
                None => list.push((name.as_str(), f.segments.clone())),
            }
        }
    }
    denied.retain(|(n, _)| !present.iter().any(|(p, _)| p == n));
    let mut emit = |verb: &str, items: &[(&str, Vec<u32>)]| {
        if items.is_empty() {
            return;
        }
        let names: Vec<&str> = items.iter().map(|(n, _)| *n).collect();
        let mut segs: Vec<u32> = items.iter().flat_map(|(_, s)| s.iter().copied()).collect();
        segs.sort_unstable();
        segs.dedup();
        out.push(ComposedSentence {
            text: format!("{verb} {}.", join_and(&names)),
            segments: segs,
        });
    };
    if !with_history {
        emit("Reports", &present);
    } else {
        // Only those the history's own sentences do not already name.
        let told: String = visit
            .facts
            .iter()
            .filter(|f| f.kind == FactKind::History)
            .map(|f| f.sentence.to_lowercase())
            .collect::<Vec<_>>()
            .join(" ");
        let extra: Vec<(&str, Vec<u32>)> = present
            .iter()
            .filter(|(n, _)| !told.contains(n))
            .cloned()
            .collect();
        emit("Reports", &extra);
    }
    emit("Denies", &denied);
}

/// The composed note as a [`Draft`], with each sentence's source in the
/// provenance.
pub fn to_draft(note: &ComposedNote, template: &Template) -> Draft {
    let mut sections = Vec::new();
    let mut sources = Vec::new();
    for (heading, sentences) in &note.sections {
        let text = if sentences.is_empty() {
            NOT_DISCUSSED.to_string()
        } else {
            sentences
                .iter()
                .map(|s| s.text.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        };
        for s in sentences {
            sources.push(SentenceSource {
                section: heading.clone(),
                text: s.text.clone(),
                origin: SentenceOrigin::Composed,
                segments: s.segments.clone(),
            });
        }
        sections.push(DraftSection {
            heading: heading.clone(),
            text,
        });
    }
    Draft {
        sections,
        provenance: Provenance {
            model_sha256: rules_sha256(),
            model_id: COMPOSER_ID.to_string(),
            template_id: template.id.clone(),
            template_version: template.version,
            sampling: SamplingParams {
                temperature: 0.0,
                top_p: None,
                seed: 0,
                max_tokens_per_section: 0,
            },
            prompt_tokens: 0,
            omitted_transcript_chars: 0,
            section_inputs: Vec::new(),
            sentences: sources,
        },
    }
}

/// SHA-256 (hex) of the composer's rule data (its cue file and the shared
/// lexicon): names the rule set a draft was composed with, as a model's hash names its weights.
pub fn rules_sha256() -> String {
    let mut bytes = cues::CUES_TOML.as_bytes().to_vec();
    bytes.extend_from_slice(tacet_ground::vocab::LEXICON_TOML.as_bytes());
    bytes.extend_from_slice(env!("CARGO_PKG_VERSION").as_bytes());
    tacet_core::sha256(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Reads and composes in one step.
pub fn draft_note(transcript: &Transcript, template: &Template) -> Draft {
    let visit = read_visit(transcript, is_therapy(template));
    to_draft(&compose(&visit, template), template)
}

/// Composes, then offers each section's sentences to `ask` (a language
/// model: system and user turn in, its answer out, `None` when it failed or
/// was cancelled) and keeps each reworded sentence that passes
/// [`rephrase::accept`]. The provenance marks which sentences were
/// rephrased and names `model_id`/`model_sha256` beside the composer.
pub fn draft_rephrased(
    transcript: &Transcript,
    template: &Template,
    model_id: &str,
    model_sha256: &str,
    ask: &mut dyn FnMut(&str, &str) -> Option<String>,
) -> Draft {
    let visit = read_visit(transcript, is_therapy(template));
    let mut note = compose(&visit, template);
    let mut rephrased: Vec<(usize, usize)> = Vec::new();
    for (si, (heading, sentences)) in note.sections.iter_mut().enumerate() {
        if sentences.is_empty() {
            continue;
        }
        let texts: Vec<String> = sentences.iter().map(|s| s.text.clone()).collect();
        let Some(answer) = ask(rephrase::SYSTEM, &rephrase::prompt(heading, &texts)) else {
            continue;
        };
        for (k, r) in rephrase::accept(&texts, &answer, transcript)
            .into_iter()
            .enumerate()
        {
            if let Some(r) = r {
                sentences[k].text = r;
                rephrased.push((si, k));
            }
        }
    }
    let mut d = to_draft(&note, template);
    // Sentence sources are in note order: mark the rephrased ones.
    let mut idx = 0;
    for (si, (_, sentences)) in note.sections.iter().enumerate() {
        for k in 0..sentences.len() {
            if rephrased.contains(&(si, k)) {
                if let Some(src) = d.provenance.sentences.get_mut(idx) {
                    src.origin = SentenceOrigin::Rephrased;
                }
            }
            idx += 1;
        }
    }
    d.provenance.model_id = format!("{COMPOSER_ID} + {model_id}");
    d.provenance.model_sha256 = model_sha256.to_string();
    d
}

/// A language model as the composer uses it: one chat turn in, its answer
/// out (`None` when it failed or was cancelled).
pub trait Rewriter {
    fn rewrite(&mut self, system: &str, user: &str, cancel: &AtomicBool) -> Option<String>;
    /// Drops whatever the model holds of the last prompt.
    fn forget(&mut self) {}
}

/// The drafter that composes the note and lets a [`Rewriter`] reword each
/// section ([`draft_rephrased`]).
pub struct RephrasingDrafter<R> {
    pub rewriter: R,
    pub model_id: String,
    pub model_sha256: String,
}

impl<R: Rewriter> Drafter for RephrasingDrafter<R> {
    fn draft(
        &mut self,
        transcript: &Transcript,
        template: &Template,
        progress: &mut dyn FnMut(DraftProgress<'_>),
        cancel: &AtomicBool,
    ) -> Result<Draft, EngineError> {
        let rewriter = &mut self.rewriter;
        let mut ask = |system: &str, user: &str| rewriter.rewrite(system, user, cancel);
        let d = draft_rephrased(
            transcript,
            template,
            &self.model_id,
            &self.model_sha256,
            &mut ask,
        );
        if cancel.load(Ordering::Relaxed) {
            return Err(EngineError("drafting was cancelled".into()));
        }
        for s in &d.sections {
            progress(DraftProgress::Section(&s.heading));
            progress(DraftProgress::Token(&s.text));
        }
        Ok(d)
    }

    fn forget(&mut self) {
        self.rewriter.forget();
    }
}

/// The drafter that composes the note from the visit's facts: no model,
/// milliseconds, every sentence with its evidence.
#[derive(Clone, Copy, Debug, Default)]
pub struct ComposedDrafter;

impl Drafter for ComposedDrafter {
    fn draft(
        &mut self,
        transcript: &Transcript,
        template: &Template,
        progress: &mut dyn FnMut(DraftProgress<'_>),
        cancel: &AtomicBool,
    ) -> Result<Draft, EngineError> {
        let draft = draft_note(transcript, template);
        for s in &draft.sections {
            if cancel.load(Ordering::Relaxed) {
                return Err(EngineError("drafting was cancelled".into()));
            }
            progress(DraftProgress::Section(&s.heading));
            progress(DraftProgress::Token(&s.text));
        }
        Ok(draft)
    }
}

#[cfg(test)]
mod question_tests {
    #[test]
    fn a_question_left_in_unpunctuated_speech_is_not_a_fact() {
        for q in [
            "Do you notice any pain when you urinate or when you pee.",
            "Do you think this pain will ever go away.",
            "When do the patient has to have the surgery.",
            "Do you have any nausea vomiting any fever chills the patient feels nauseated.",
        ] {
            assert!(super::is_question(q), "{q}");
        }
        for s in [
            "When the patient comes back in a month.",
            "Denies chest pain.",
            "What we will do is repeat the x-ray.",
            "Doing well on metformin.",
        ] {
            assert!(!super::is_question(s), "{s}");
        }
    }
}

/// What the unit tests share.
#[cfg(test)]
pub(crate) mod test_support {
    use tacet_core::{Segment, Transcript};

    /// One segment a line, a second apart, no speaker.
    pub fn transcript(lines: &[&str]) -> Transcript {
        Transcript {
            segments: lines
                .iter()
                .enumerate()
                .map(|(i, t)| Segment {
                    id: i as u32,
                    start_ms: i as u64 * 1000,
                    end_ms: i as u64 * 1000 + 900,
                    speaker: None,
                    text: t.to_string(),
                    confidence: 0.9,
                    unsure: Vec::new(),
                })
                .collect(),
            ..Default::default()
        }
    }
}
