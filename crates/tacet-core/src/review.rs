//! The review gate. AI text is a draft until a clinician attests it; the
//! only way to export is to hold an [`AttestedNote`], and the only way to get
//! one is [`AttestedNote::attest`] (a fresh attestation of exactly this text)
//! or [`AttestedNote::reopen`] (a stored attestation whose hash still matches
//! the stored text). Its fields are private, so no other code can make one:
//! export without review does not compile.

use crate::ids::{SessionId, UserName};
use crate::sha256;

/// The shortest reason, in characters after trimming, a clinician gives for
/// accepting flagged sentences: the gate's rule, which the screens show.
pub const MIN_REASON_CHARS: usize = 3;

/// Whether `reason` is long enough to accept flags with.
pub fn is_acceptance_reason(reason: &str) -> bool {
    reason.trim().chars().count() >= MIN_REASON_CHARS
}

/// Text as a reader sees it: invisible characters (soft hyphens, zero-width
/// and direction marks, the byte-order mark) dropped and runs of white
/// space made one space. The gate and the review screen compare a flagged
/// sentence with the note this way, so neither is fooled by an edit nobody
/// can see.
pub fn visible_text(s: &str) -> String {
    let visible: String = s
        .chars()
        .filter(|c| {
            !matches!(c, '\u{00AD}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}')
        })
        .collect();
    visible.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether `sentence` is still, word for word as a reader sees it, in
/// `note` (so its flags still count).
pub fn still_in_note(sentence: &str, note: &str) -> bool {
    visible_text(note).contains(&visible_text(sentence))
}

/// The flags still open in `note`: every unresolved flag of each flagged
/// sentence that is still in it, word for word as a reader sees it. The
/// application layer counts so before an attestation, and the review
/// screen so to say how many remain; `sentences` gives each sentence's
/// text and how many of its flags are not yet resolved.
pub fn open_flag_count<'a>(
    note: &str,
    sentences: impl IntoIterator<Item = (&'a str, usize)>,
) -> usize {
    let note = visible_text(note);
    sentences
        .into_iter()
        .filter(|(text, open)| *open > 0 && note.contains(&visible_text(text)))
        .map(|(_, open)| open)
        .sum()
}

/// A clinician's statement that they reviewed exactly this note text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attestation {
    pub session: SessionId,
    pub reviewer: UserName,
    /// SHA-256 of the note text the reviewer saw.
    pub note_sha256: [u8; 32],
    pub attested_at_unix_ms: u64,
    /// The statement the reviewer agreed to, verbatim.
    pub statement: String,
}

pub const ATTESTATION_STATEMENT: &str = "I have reviewed this note and it is accurate.";

/// What a clinician ticks (or, in the CLI, `--confirm-empty` says) to attest
/// a note with no content ([`is_empty_note`]).
pub const CONFIRM_EMPTY_STATEMENT: &str = "I confirm this note is intentionally empty";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum GateError {
    #[error("the note has not been reviewed: a clinician must review and attest it before it can be exported")]
    NotAttested,
    #[error("the note changed after it was attested: review and attest it again")]
    TextChanged,
    #[error("the attestation is for another session")]
    WrongSession,
    #[error("the note is empty")]
    Empty,
}

/// A note text together with the attestation that covers it.
#[derive(Clone, Debug)]
pub struct AttestedNote {
    text: String,
    attestation: Attestation,
}

impl AttestedNote {
    /// A clinician attests `text` now.
    pub fn attest(
        session: SessionId,
        text: String,
        reviewer: UserName,
        now_unix_ms: u64,
    ) -> Result<Self, GateError> {
        if text.trim().is_empty() {
            return Err(GateError::Empty);
        }
        let attestation = Attestation {
            session,
            reviewer,
            note_sha256: sha256(text.as_bytes()),
            attested_at_unix_ms: now_unix_ms,
            statement: ATTESTATION_STATEMENT.to_string(),
        };
        Ok(Self { text, attestation })
    }

    /// Re-joins a stored text and a stored attestation; refuses if the text
    /// is not exactly what was attested.
    pub fn reopen(
        session: SessionId,
        text: String,
        attestation: Option<Attestation>,
    ) -> Result<Self, GateError> {
        let attestation = attestation.ok_or(GateError::NotAttested)?;
        if attestation.session != session {
            return Err(GateError::WrongSession);
        }
        if sha256(text.as_bytes()) != attestation.note_sha256 {
            return Err(GateError::TextChanged);
        }
        Ok(Self { text, attestation })
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn attestation(&self) -> &Attestation {
        &self.attestation
    }

    pub fn session(&self) -> SessionId {
        self.attestation.session
    }
}

/// Whether a note says nothing: every section's body (the text under each
/// `HEADING:` line, as [`crate::draft::render_sections`] lays it out) is
/// empty, the renderer's "(nothing recorded)", or a placeholder such as
/// "Not discussed.", "None." or "N/A" (any case, full stop optional). A text
/// with neither headings nor content is empty too. Such a note can still be
/// attested, but only with the clinician's explicit confirmation, never
/// silently (the application layer enforces it).
pub fn is_empty_note(text: &str) -> bool {
    text.lines().all(|line| match split_heading(line) {
        Some((_, body)) => is_placeholder_body(body),
        None => is_placeholder_body(line),
    })
}

/// A note text as [`crate::draft::render_sections`] lays it out, split back
/// into (heading, body) pairs: a line that is only `HEADING:` starts a
/// section. Text before the first heading is kept under an empty heading.
/// For showing an attested note again (copy a section); the attested text
/// itself is never rebuilt from these.
pub fn sections_of(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        match split_heading(line) {
            Some((heading, rest)) if rest.trim().is_empty() => {
                out.push((heading.to_string(), String::new()));
            }
            _ => {
                if out.is_empty() {
                    out.push((String::new(), String::new()));
                }
                if let Some((_, body)) = out.last_mut() {
                    if !body.is_empty() {
                        body.push('\n');
                    }
                    body.push_str(line);
                }
            }
        }
    }
    for (_, body) in &mut out {
        *body = body.trim().to_string();
    }
    out
}

/// The number of sections (heading lines) in a note text; what the audit
/// record of a confirmed empty note counts.
pub fn section_count(text: &str) -> usize {
    text.lines().filter(|l| split_heading(l).is_some()).count()
}

/// Whether a section body (or one line of it) holds no content: only
/// blanks, bullets and placeholders ("Not discussed.", "None.", "N/A",
/// "(nothing recorded)"), sentence by sentence.
pub fn is_placeholder_body(body: &str) -> bool {
    body.lines().all(|line| {
        let line = line.trim();
        let line = ["-", "*", "\u{2022}"]
            .iter()
            .find_map(|b| line.strip_prefix(b))
            .unwrap_or(line);
        line.split('.').all(|piece| {
            let t = piece
                .trim()
                .trim_matches(|c: char| c == '(' || c == ')' || c.is_whitespace())
                .to_lowercase();
            PLACEHOLDERS.contains(&t.as_str())
        })
    })
}

/// What a drafter or a clinician writes for a section with nothing in it
/// (lower case, without brackets or the full stop).
const PLACEHOLDERS: [&str; 9] = [
    "",
    "not discussed",
    "none",
    "n/a",
    "nil",
    "nothing recorded",
    "none recorded",
    "not recorded",
    "not applicable",
];

/// A heading line as `render_sections` writes it (`HEADING:` on its own
/// line), or a heading with its body on the same line (`PLAN: Rest.`): the
/// heading and the rest of the line. A heading is upper case with at least
/// one letter, as templates require.
fn split_heading(line: &str) -> Option<(&str, &str)> {
    let (heading, rest) = line.trim().split_once(':')?;
    let heading = heading.trim();
    let is_heading = !heading.is_empty()
        && heading.len() <= 80
        && heading.chars().any(char::is_alphabetic)
        && heading == heading.to_uppercase();
    is_heading.then_some((heading, rest))
}

#[cfg(test)]
mod tests {

    #[test]
    fn open_flags_are_those_of_flagged_sentences_still_in_the_note() {
        use super::open_flag_count;
        let note = "PLAN:\nStart aspirin 500 mg\u{200B} daily.  Rest.";
        // Kept (an invisible character and spacing change nothing): both count.
        assert_eq!(
            open_flag_count(note, [("Start aspirin 500 mg daily.", 2)]),
            2
        );
        // Edited away, resolved, or never flagged: none.
        assert_eq!(
            open_flag_count(note, [("Start aspirin 81 mg daily.", 2)]),
            0
        );
        assert_eq!(
            open_flag_count(note, [("Start aspirin 500 mg daily.", 0)]),
            0
        );
        assert_eq!(open_flag_count(note, [("Rest.", 1), ("Ice.", 3)]), 1);
    }

    #[test]
    fn the_gates_comparison_rules() {
        assert!(!is_acceptance_reason("  ok  "));
        assert!(is_acceptance_reason("yes"));
        assert!(is_acceptance_reason("ééé"));
        assert_eq!(
            visible_text("Aspirin 5\u{200B}00 mg\n  daily.\u{FEFF}"),
            "Aspirin 500 mg daily."
        );
        assert!(still_in_note(
            "Aspirin 500 mg daily.",
            "PLAN:\nAspirin 5\u{00AD}00   mg daily. Rest."
        ));
        assert!(!still_in_note(
            "Aspirin 500 mg daily.",
            "Aspirin 81 mg daily."
        ));
    }

    #[test]
    fn a_rendered_note_splits_back_into_its_sections() {
        let sections = [
            ("SUBJECTIVE", "Cough for 5 days.\nDenies fever."),
            ("PLAN", ""),
            ("ASSESSMENT", "Likely viral: rest."),
        ];
        let text = crate::draft::render_sections(sections.iter().copied());
        let back = sections_of(&text);
        assert_eq!(back.len(), 3);
        assert_eq!(
            back[0],
            (
                "SUBJECTIVE".into(),
                "Cough for 5 days.\nDenies fever.".into()
            )
        );
        assert_eq!(back[1], ("PLAN".into(), "(nothing recorded)".into()));
        assert_eq!(back[2], ("ASSESSMENT".into(), "Likely viral: rest.".into()));
        let again =
            crate::draft::render_sections(back.iter().map(|(h, b)| (h.as_str(), b.as_str())));
        assert_eq!(again, text);
        assert_eq!(
            sections_of("free text\nPLAN:\nRest."),
            vec![
                (String::new(), "free text".to_string()),
                ("PLAN".to_string(), "Rest.".to_string()),
            ]
        );
    }

    use super::*;

    fn sid() -> SessionId {
        SessionId([1; 16])
    }

    #[test]
    fn attested_text_reopens() {
        let n =
            AttestedNote::attest(sid(), "PLAN:\nRest.\n".into(), UserName("dr".into()), 5).unwrap();
        let again =
            AttestedNote::reopen(sid(), n.text().to_string(), Some(n.attestation().clone()))
                .unwrap();
        assert_eq!(again.text(), "PLAN:\nRest.\n");
    }

    #[test]
    fn fail_reopen_without_attestation() {
        assert_eq!(
            AttestedNote::reopen(sid(), "x".into(), None).unwrap_err(),
            GateError::NotAttested
        );
    }

    #[test]
    fn fail_reopen_changed_text() {
        let n =
            AttestedNote::attest(sid(), "PLAN:\nRest.\n".into(), UserName("dr".into()), 5).unwrap();
        let err = AttestedNote::reopen(
            sid(),
            "PLAN:\nSurgery.\n".into(),
            Some(n.attestation().clone()),
        )
        .unwrap_err();
        assert_eq!(err, GateError::TextChanged);
    }

    #[test]
    fn fail_reopen_other_session() {
        let n = AttestedNote::attest(sid(), "x".into(), UserName("dr".into()), 5).unwrap();
        let err = AttestedNote::reopen(
            SessionId([2; 16]),
            "x".into(),
            Some(n.attestation().clone()),
        )
        .unwrap_err();
        assert_eq!(err, GateError::WrongSession);
    }

    #[test]
    fn fail_attest_empty() {
        assert_eq!(
            AttestedNote::attest(sid(), "  ".into(), UserName("dr".into()), 5).unwrap_err(),
            GateError::Empty
        );
    }

    #[test]
    fn a_note_of_empty_sections_and_placeholders_is_empty() {
        let rendered = crate::draft::render_sections(
            [("SUBJECTIVE", ""), ("OBJECTIVE", "  "), ("PLAN", "")].into_iter(),
        );
        assert!(is_empty_note(&rendered), "{rendered}");
        assert_eq!(section_count(&rendered), 3);
        for text in [
            "SUBJECTIVE:\nNot discussed.\n\nPLAN:\nnot discussed\n",
            "SUBJECTIVE:\nNone.\n\nASSESSMENT AND PLAN:\nN/A\n",
            "SUBJECTIVE:\n(nothing recorded)\n\nPLAN:\nNOT DISCUSSED.\n",
            "SUBJECTIVE:\nNot discussed. None.\n- N/A\n\nPLAN:\n",
            "SUBJECTIVE: Not discussed.\nPLAN: none\n",
            "",
            "  \n\n ",
        ] {
            assert!(is_empty_note(text), "{text:?}");
        }
    }

    #[test]
    fn fail_a_note_with_one_real_sentence_is_not_empty() {
        for text in [
            "SUBJECTIVE:\nNot discussed.\n\nPLAN:\nRest the knee for a week.\n",
            "SUBJECTIVE:\n(nothing recorded)\n\nPLAN:\nNone. Ibuprofen 400 mg.\n",
            "SUBJECTIVE:\nNot discussed in detail; knee pain.\n",
            "PLAN: Rest.\n",
            "NOTE 1",
            "Knee pain.",
            "SUBJECTIVE:\nNone.\nBP: 120/80\n",
        ] {
            assert!(!is_empty_note(text), "{text:?}");
        }
    }

    #[test]
    fn placeholders_are_whole_bodies_in_any_case() {
        assert!(is_placeholder_body("Not discussed"));
        assert!(is_placeholder_body(" none. "));
        assert!(is_placeholder_body("(Nothing recorded)"));
        assert!(is_placeholder_body("n/a."));
        assert!(!is_placeholder_body("None of the above applies to her."));
        assert!(!is_placeholder_body("Nonsmoker."));
    }
}
