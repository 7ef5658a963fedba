//! tacet-ground: every sentence of a draft note tied to the transcript
//! segments that support it, and flagged where it has no support or
//! contradicts what was said.
//!
//! Drafts come from small local models and are untrusted: they confuse
//! sections, misread vitals and invent drugs (one proposed amoxicillin right
//! after the patient said she is allergic to penicillin). Asking the model
//! whether it was right would grade the model with the model, so grounding
//! here is deterministic text processing a reviewer can predict:
//!
//! 1. Each section's text is split into sentences ([`split_sentences`]:
//!    lines, bullets, abbreviations such as "Dr." and decimals handled);
//!    placeholders ("Not discussed.") are skipped.
//! 2. **Evidence**: each sentence's content words (normalised, stop words
//!    and note boilerplate removed, crudely stemmed, spoken numbers turned
//!    into values) are scored against every window of one to three adjacent
//!    segments by IDF-weighted coverage. The best windows become
//!    [`Evidence`] links (segment id and times); a sentence whose best window
//!    covers less than [`SUPPORT_THRESHOLD`] of its weight is
//!    [`FlagKind::Unsupported`].
//! 3. **Checks**, each against the whole transcript and against the linked
//!    evidence: numbers with units and pairs such as blood pressure
//!    ([`FlagKind::NumberMismatch`], [`FlagKind::DoseMismatch`], a dose beside
//!    a drug must be a dose said with that drug); left/right/bilateral
//!    against the sides the transcript gives the same body part, by
//!    presence, by a two-to-one majority and in the linked evidence, else
//!    against the sides the whole visit names ([`FlagKind::Laterality`]); a
//!    symptom asserted where the transcript negates it or the reverse,
//!    NegEx-style, with yes/no answers to the clinician's questions and
//!    spoken lists ([`FlagKind::Negation`]); a drug
//!    of a class the patient is allergic to, cephalosporins after a
//!    penicillin allergy at lower severity ([`FlagKind::AllergyConflict`]);
//!    a drug name (built-in list and generic suffixes) the transcript never
//!    mentions ([`FlagKind::UnknownMedication`]); evidence the recogniser was
//!    unsure of, a whole segment or a word the sentence uses (a dose, a drug
//!    name) ([`FlagKind::LowConfidenceSource`]).
//!
//! Flags carry a `detail` for the clinician's review screen that may quote
//! the note and transcript; it is patient text and must never be logged.
//! Flags start unresolved; the review gate refuses attestation while
//! [`Grounding::unresolved_flag_count`] is non-zero. The crate does no I/O and
//! never prints. `docs/EVAL.md` records how often it catches injected errors
//! and how often it flags reference sentences, and what it cannot catch.

mod checks;
mod index;
mod lexicon;
mod text;

use std::collections::HashSet;

use tacet_core::{Draft, Transcript};

use index::{content_key, Index};

pub use text::split_sentences;

/// The grounding checks' word lists, shared with the note composer
/// (`tacet-facts`) so that what the composer reads as a drug, a symptom or a
/// body part is exactly what the checks compare.
pub mod vocab {
    /// The word lists' data file (`data/lexicon.toml`), compiled in; its
    /// hash is part of a composed draft's rule-set name.
    pub use crate::lexicon::LEXICON_TOML;
    /// Whether a lower-case word names a medication (list and suffix rules).
    pub fn is_drug(word: &str) -> bool {
        crate::lexicon::is_drug(word)
    }
    /// The generic name for a brand name (or the word itself).
    pub fn generic(word: &str) -> String {
        crate::lexicon::generic(word)
    }
    /// Whether a lower-case word names a body part.
    pub fn is_body_part(word: &str) -> bool {
        crate::lexicon::is_body_part(word)
    }
    /// The symptom groups: each a list of phrases meaning one finding, the
    /// first its name.
    pub fn symptom_groups() -> &'static [Vec<String>] {
        crate::lexicon::symptoms()
    }
    /// The canonical unit for a unit word, and whether it is a dose unit.
    pub fn unit_of(word: &str) -> Option<(&'static str, bool)> {
        crate::lexicon::unit_of(word)
    }
}

/// A sentence whose best evidence window covers less than this share of its
/// IDF-weighted content words is flagged unsupported.
pub const SUPPORT_THRESHOLD: f32 = 0.30;

/// Segments below this recogniser confidence make a low-confidence source.
pub const LOW_CONFIDENCE: f32 = 0.5;

/// At most this many evidence windows are linked to one sentence.
const MAX_WINDOWS: usize = 3;

/// Why a sentence needs the clinician's attention.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FlagKind {
    /// No transcript segment supports the sentence.
    Unsupported,
    /// A number (vital, duration, score) the transcript does not have.
    NumberMismatch,
    /// A dose (mg, mcg, g, ml, units, tablets) the transcript does not have.
    DoseMismatch,
    /// Left/right/bilateral contradicts the transcript.
    Laterality,
    /// A finding asserted that the transcript negates, or the reverse.
    Negation,
    /// A drug (or drug class) the patient said they are allergic to.
    AllergyConflict,
    /// A medication the transcript never mentions.
    UnknownMedication,
    /// The supporting segments were transcribed with low confidence.
    LowConfidenceSource,
    /// A vital sign with a value no living person has (a mishearing the
    /// transcript repeats: "138.5" for "38.5").
    Implausible,
}

impl FlagKind {
    pub const ALL: [FlagKind; 9] = [
        FlagKind::Unsupported,
        FlagKind::NumberMismatch,
        FlagKind::DoseMismatch,
        FlagKind::Laterality,
        FlagKind::Negation,
        FlagKind::AllergyConflict,
        FlagKind::UnknownMedication,
        FlagKind::LowConfidenceSource,
        FlagKind::Implausible,
    ];

    /// A short label for screens and tables.
    pub fn label(self) -> &'static str {
        match self {
            FlagKind::Unsupported => "unsupported",
            FlagKind::NumberMismatch => "number",
            FlagKind::DoseMismatch => "dose",
            FlagKind::Laterality => "laterality",
            FlagKind::Negation => "negation",
            FlagKind::AllergyConflict => "allergy",
            FlagKind::UnknownMedication => "unknown medication",
            FlagKind::LowConfidenceSource => "low-confidence source",
            FlagKind::Implausible => "implausible value",
        }
    }
}

/// How a clinician resolved a flag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolution {
    /// Kept as written, with the clinician's reason.
    Accepted { reason: String },
    /// The sentence was edited.
    Edited,
    /// The sentence was removed.
    Removed,
}

/// One finding about one sentence.
#[derive(Clone, Debug, PartialEq)]
pub struct Flag {
    pub kind: FlagKind,
    /// Names the mismatch for the clinician's screen ("dose 500 mg is not in
    /// the transcript (transcript says 81 mg)"). Patient text: never log it.
    pub detail: String,
    /// The transcript segment that shows the conflict, when there is one.
    pub evidence_segment: Option<u32>,
    /// `None` until the clinician resolves it.
    pub resolution: Option<Resolution>,
}

impl Flag {
    pub(crate) fn new(kind: FlagKind, detail: String, evidence_segment: Option<u32>) -> Self {
        Self {
            kind,
            detail,
            evidence_segment,
            resolution: None,
        }
    }
}

/// A link from a sentence to a transcript segment that supports it.
#[derive(Clone, Debug, PartialEq)]
pub struct Evidence {
    pub segment_id: u32,
    pub start_ms: u64,
    pub end_ms: u64,
    /// Share (0..=1) of the sentence's IDF-weighted content words found in
    /// the window this segment belongs to.
    pub score: f32,
}

/// One sentence of the draft, its evidence and its flags.
#[derive(Clone, Debug, PartialEq)]
pub struct SentenceGrounding {
    pub section: String,
    pub index_in_section: usize,
    pub text: String,
    /// Best first.
    pub evidence: Vec<Evidence>,
    pub flags: Vec<Flag>,
}

/// The grounding of a whole draft, sentence by sentence in note order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Grounding {
    pub sentences: Vec<SentenceGrounding>,
}

impl Grounding {
    /// Flags no clinician has resolved yet; attestation waits for zero.
    pub fn unresolved_flag_count(&self) -> usize {
        self.sentences
            .iter()
            .flat_map(|s| &s.flags)
            .filter(|f| f.resolution.is_none())
            .count()
    }

    /// Resolves one flag; returns false when the indices name none.
    pub fn resolve(&mut self, sentence: usize, flag: usize, resolution: Resolution) -> bool {
        match self
            .sentences
            .get_mut(sentence)
            .and_then(|s| s.flags.get_mut(flag))
        {
            Some(f) => {
                f.resolution = Some(resolution);
                true
            }
            None => false,
        }
    }

    /// Sentences with at least one flag.
    pub fn flagged_sentence_count(&self) -> usize {
        self.sentences
            .iter()
            .filter(|s| !s.flags.is_empty())
            .count()
    }
}

/// Grounds every sentence of `draft` in `transcript`. A sentence the
/// composer wrote names the segments its facts came from
/// (`Provenance::sentences`); those are its evidence where they support it.
pub fn ground(draft: &Draft, transcript: &Transcript) -> Grounding {
    let idx = Index::build(transcript);
    let mut sentences = Vec::new();
    for section in &draft.sections {
        for (i, s) in split_sentences(&section.text).into_iter().enumerate() {
            let sources = draft
                .provenance
                .sentences
                .iter()
                .find(|src| src.section == section.heading && src.text.trim() == s.trim())
                .map(|src| src.segments.as_slice());
            sentences.push(ground_sentence(&idx, &section.heading, i, s, sources));
        }
    }
    Grounding { sentences }
}

fn idf(idx: &Index, id: u32) -> f32 {
    let n = idx.segs.len().max(1) as f32;
    let df = idx.df.get(id as usize).copied().unwrap_or(1).max(1) as f32;
    1.0 + (n / df).ln()
}

/// Each content word of a sentence with the vocabulary ids it matches and
/// its weight; and the total weight.
type Matched = (Vec<(Vec<u32>, f32)>, f32);

fn match_keys(idx: &Index, toks: &[text::Tok]) -> Option<Matched> {
    // Each content word with its plain-language alternatives.
    let mut keys: Vec<(String, Vec<String>)> = Vec::new();
    for t in toks {
        let Some(k) = content_key(t) else { continue };
        if keys.iter().any(|(p, _)| *p == k) {
            continue;
        }
        let alts = t
            .word()
            .map(|w| {
                lexicon::plain_words(w)
                    .iter()
                    .map(|a| text::stem(a))
                    .collect()
            })
            .unwrap_or_default();
        keys.push((k, alts));
    }
    if keys.is_empty() || idx.segs.is_empty() {
        return None;
    }
    let n = idx.segs.len() as f32;
    let unmatched_weight = 1.0 + n.ln();
    // Each key: the vocabulary ids it matches and its weight.
    let matched: Vec<(Vec<u32>, f32)> = keys
        .iter()
        .map(|(k, alts)| {
            let mut ids = idx.matching_ids(k);
            for a in alts {
                ids.extend(idx.matching_ids(a));
            }
            let w = ids
                .iter()
                .map(|&id| idf(idx, id))
                .fold(None, |m: Option<f32>, x| Some(m.map_or(x, |m| m.max(x))))
                .unwrap_or(unmatched_weight);
            (ids, w)
        })
        .collect();
    let total: f32 = matched.iter().map(|m| m.1).sum();
    Some((matched, total))
}

/// The share of the sentence's weight the segments at `positions` cover.
fn coverage(idx: &Index, m: &Matched, positions: &[usize]) -> f32 {
    let (matched, total) = m;
    let covered: f32 = matched
        .iter()
        .filter(|(ids, _)| {
            ids.iter()
                .any(|id| positions.iter().any(|&k| idx.segs[k].keys.contains(id)))
        })
        .map(|m| m.1)
        .sum();
    if *total > 0.0 {
        covered / total
    } else {
        0.0
    }
}

/// (start segment index, window length, score), best first.
fn score_windows(idx: &Index, m: Option<&Matched>) -> Vec<(usize, usize, f32)> {
    let Some(m) = m else {
        return Vec::new();
    };
    let mut windows = Vec::new();
    for start in 0..idx.segs.len() {
        for len in 1..=3usize {
            if start + len > idx.segs.len() {
                break;
            }
            let positions: Vec<usize> = (start..start + len).collect();
            let score = coverage(idx, m, &positions);
            if score > 0.0 {
                windows.push((start, len, score));
            }
        }
    }
    // Best score first; among equals, the shorter window.
    windows.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.1.cmp(&b.1)).then(a.0.cmp(&b.0)));
    windows
}

fn ground_sentence(
    idx: &Index,
    heading: &str,
    i: usize,
    text: String,
    sources: Option<&[u32]>,
) -> SentenceGrounding {
    let toks = text::tokenize(&text);
    let matched = match_keys(idx, &toks);
    let no_content = matched.is_none();
    let windows = score_windows(idx, matched.as_ref());
    let best = windows.first().map(|w| w.2).unwrap_or(0.0);
    let mut evidence: Vec<Evidence> = Vec::new();
    let mut used: HashSet<usize> = HashSet::new();
    let mut chosen = 0;
    // A composed sentence names the segments its facts were read from: they
    // are its evidence when they support it, and the checks run on them.
    if let (Some(ids), Some(m)) = (sources, matched.as_ref()) {
        let positions: Vec<usize> = (0..idx.segs.len())
            .filter(|&k| ids.contains(&idx.segs[k].id))
            .collect();
        let score = coverage(idx, m, &positions);
        if !positions.is_empty() && score >= SUPPORT_THRESHOLD {
            for &k in &positions {
                used.insert(k);
                let s = &idx.segs[k];
                evidence.push(Evidence {
                    segment_id: s.id,
                    start_ms: s.start_ms,
                    end_ms: s.end_ms,
                    score,
                });
            }
            chosen = MAX_WINDOWS;
        }
    }
    for &(start, len, score) in &windows {
        if chosen == MAX_WINDOWS || score < SUPPORT_THRESHOLD || score < 0.8 * best {
            break;
        }
        if (start..start + len).any(|k| used.contains(&k)) {
            continue;
        }
        chosen += 1;
        for k in start..start + len {
            used.insert(k);
            let s = &idx.segs[k];
            evidence.push(Evidence {
                segment_id: s.id,
                start_ms: s.start_ms,
                end_ms: s.end_ms,
                score,
            });
        }
    }
    let evidence_segs: Vec<usize> = {
        let mut v: Vec<usize> = used.iter().copied().collect();
        v.sort_unstable();
        v
    };
    let mut flags = Vec::new();
    // A short line without a full stop ("Cardiovascular", "Surgical") is a
    // label inside a section: it states nothing to support.
    let is_label = !text.trim_end().ends_with(['.', '!', '?'])
        && text.split_whitespace().count() <= 3
        && !text.chars().any(|c| c.is_ascii_digit());
    if evidence.is_empty() && !no_content && !is_label {
        flags.push(Flag::new(
            FlagKind::Unsupported,
            format!(
                "no transcript segment supports this sentence (best match covers {:.0}% of its content words)",
                best * 100.0
            ),
            windows.first().and_then(|w| idx.segs.get(w.0)).map(|s| s.id),
        ));
    }
    checks::numbers(&toks, idx, &evidence_segs, &mut flags);
    checks::laterality(&toks, idx, &evidence_segs, &mut flags);
    checks::negation(&toks, idx, &evidence_segs, &mut flags);
    checks::allergy(&toks, idx, &mut flags);
    checks::unknown_medication(&toks, idx, &mut flags);
    checks::implausible_vitals(&toks, &mut flags);
    if let Some(low) = evidence_segs
        .iter()
        .map(|&k| &idx.segs[k])
        .filter(|s| s.confidence < LOW_CONFIDENCE)
        .min_by(|a, b| a.confidence.total_cmp(&b.confidence))
    {
        flags.push(Flag::new(
            FlagKind::LowConfidenceSource,
            format!(
                "supporting segment {} was transcribed with low confidence ({:.2}); check the audio",
                low.id, low.confidence
            ),
            Some(low.id),
        ));
    } else if let Some((seg, heard)) = unsure_word_used(idx, &toks, &evidence_segs) {
        // The segment as a whole was heard well, but a word this sentence
        // rests on was not (a dose, a drug name): the same risk, smaller.
        flags.push(Flag::new(
            FlagKind::LowConfidenceSource,
            format!(
                "the transcript word \"{heard}\" in supporting segment {seg} was heard with low confidence; check the audio"
            ),
            Some(seg),
        ));
    }
    SentenceGrounding {
        section: heading.to_string(),
        index_in_section: i,
        text,
        evidence,
        flags,
    }
}

/// The first word of the sentence (by content key: a stem or a number)
/// that a supporting segment holds among its unsure words: that segment's
/// id and the word as heard.
fn unsure_word_used(idx: &Index, toks: &[text::Tok], evidence: &[usize]) -> Option<(u32, String)> {
    let keys: Vec<String> = toks.iter().filter_map(content_key).collect();
    evidence.iter().find_map(|&k| {
        let seg = &idx.segs[k];
        seg.unsure
            .iter()
            .find(|(key, _)| keys.contains(key))
            .map(|(_, heard)| (seg.id, heard.clone()))
    })
}

fn mm_ss(ms: u64) -> String {
    let s = ms / 1000;
    format!("{:02}:{:02}", s / 60, s % 60)
}

/// The note for a terminal review: each section's sentences with their
/// evidence (`[#id mm:ss]`), flagged sentences marked `!!` with one line per
/// flag beneath. Resolved flags are shown as such.
pub fn render_for_review(grounding: &Grounding) -> String {
    let mut out = String::new();
    let mut current: Option<&str> = None;
    for s in &grounding.sentences {
        if current != Some(s.section.as_str()) {
            if current.is_some() {
                out.push('\n');
            }
            out.push_str(&s.section);
            out.push_str(":\n");
            current = Some(s.section.as_str());
        }
        let unresolved = s.flags.iter().any(|f| f.resolution.is_none());
        out.push_str(if unresolved { "!! " } else { "   " });
        out.push_str(&s.text);
        let links: Vec<String> = s
            .evidence
            .iter()
            .take(3)
            .map(|e| format!("#{} {}", e.segment_id, mm_ss(e.start_ms)))
            .collect();
        if !links.is_empty() {
            out.push_str(&format!("  [{}]", links.join(", ")));
        }
        out.push('\n');
        for f in &s.flags {
            let state = match &f.resolution {
                None => "",
                Some(Resolution::Accepted { .. }) => " (accepted)",
                Some(Resolution::Edited) => " (edited)",
                Some(Resolution::Removed) => " (removed)",
            };
            let at = f
                .evidence_segment
                .map(|id| format!(" (see segment #{id})"))
                .unwrap_or_default();
            out.push_str(&format!(
                "     ^ {}: {}{}{}\n",
                f.kind.label(),
                f.detail,
                at,
                state
            ));
        }
    }
    let n = grounding.unresolved_flag_count();
    out.push_str(&format!(
        "\n{n} unresolved flag{} in {} sentence{}\n",
        if n == 1 { "" } else { "s" },
        grounding.flagged_sentence_count(),
        if grounding.flagged_sentence_count() == 1 {
            ""
        } else {
            "s"
        }
    ));
    out
}
