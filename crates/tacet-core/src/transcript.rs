//! The transcript: what was said, in segments with times and confidence.

use serde::{Deserialize, Serialize};

/// Which microphone (or channel) a segment came from, when that is known.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Speaker {
    /// Channel 0 of a two-channel recording (by convention the clinician).
    Channel0,
    /// Channel 1 of a two-channel recording (by convention the patient).
    Channel1,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    /// Stable within one transcript: 0, 1, 2…
    pub id: u32,
    pub start_ms: u64,
    pub end_ms: u64,
    pub speaker: Option<Speaker>,
    pub text: String,
    /// Mean token probability in 0..=1 (1 when the engine gives none).
    pub confidence: f32,
    /// The words of `text` that hold a token the engine was unsure of, as
    /// byte ranges in order (empty when it was sure of every word, or gives
    /// no token probabilities). Omitted from the JSON when empty, so
    /// transcripts written before it read the same.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unsure: Vec<TextSpan>,
}

/// A segment whose confidence (mean token probability) is below this is
/// marked unsure for the reviewer as a whole, on screen and at the terminal.
pub const LOW_CONFIDENCE_BELOW: f32 = 0.5;

/// The legend under a transcript marked by [`Transcript::to_review_text`].
pub const UNSURE_LEGEND: &str =
    "(?) and (unsure) mark what the engine was unsure of: check it against the audio.";

/// A byte range `start_byte..end_byte` of a segment's text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextSpan {
    pub start_byte: u32,
    pub end_byte: u32,
}

/// `text` in pieces, each with whether it lies in one of `spans`, for
/// display: sure text and unsure words alternate, and joined they are
/// `text`. A span that is out of order, out of range or not on a character
/// boundary (a damaged record) is ignored rather than trusted.
pub fn text_pieces<'a>(text: &'a str, spans: &[TextSpan]) -> Vec<(&'a str, bool)> {
    let mut out = Vec::new();
    let mut at = 0usize;
    for span in spans {
        let (start, end) = (span.start_byte as usize, span.end_byte as usize);
        if start < at
            || end <= start
            || end > text.len()
            || !text.is_char_boundary(start)
            || !text.is_char_boundary(end)
        {
            continue;
        }
        if start > at {
            out.push((&text[at..start], false));
        }
        out.push((&text[start..end], true));
        at = end;
    }
    if at < text.len() {
        out.push((&text[at..], false));
    }
    out
}

impl Segment {
    /// The text in pieces, each with whether the engine was unsure of it:
    /// [`text_pieces`] of `text` and `unsure`.
    pub fn pieces(&self) -> Vec<(&str, bool)> {
        text_pieces(&self.text, &self.unsure)
    }

    /// The text, trimmed, with `(?)` after each word the engine was unsure
    /// of and ` (unsure)` after a segment below [`LOW_CONFIDENCE_BELOW`]; and
    /// whether anything was marked.
    pub fn marked_text(&self) -> (String, bool) {
        let mut line = String::new();
        let mut marked = false;
        for (piece, unsure) in self.pieces() {
            if unsure {
                // Every word of the span is marked ("Pam(?) Pappell(?),"), and
                // the mark goes on the word, not its punctuation.
                for chunk in piece.split_inclusive(char::is_whitespace) {
                    let spoken = chunk.trim_end();
                    let word = spoken.trim_end_matches(|c: char| c.is_ascii_punctuation());
                    line.push_str(word);
                    if !word.is_empty() {
                        line.push_str("(?)");
                    }
                    line.push_str(&chunk[word.len()..]);
                }
                marked = true;
            } else {
                line.push_str(piece);
            }
        }
        let mut line = line.trim().to_string();
        if self.confidence < LOW_CONFIDENCE_BELOW {
            line.push_str(" (unsure)");
            marked = true;
        }
        (line, marked)
    }

    /// The words the engine was unsure of, in order.
    pub fn unsure_words(&self) -> Vec<&str> {
        self.pieces()
            .into_iter()
            .filter(|(_, unsure)| *unsure)
            .map(|(t, _)| t)
            .collect()
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Transcript {
    /// BCP-47-ish language code the session was locked to ("en").
    pub language: String,
    pub segments: Vec<Segment>,
    /// SHA-256 (hex) of the ASR model that produced it.
    pub model_sha256: String,
}

impl Transcript {
    /// The whole transcript as plain text, one segment a line, with times.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for s in &self.segments {
            let secs = s.start_ms / 1000;
            out.push_str(&format!(
                "[{:02}:{:02}] {}\n",
                secs / 60,
                secs % 60,
                s.text.trim()
            ));
        }
        out
    }

    /// [`Transcript::to_text`] for a reviewer at a terminal: each word the
    /// engine was unsure of is followed by `(?)`, a segment below
    /// [`LOW_CONFIDENCE_BELOW`] by ` (unsure)`, and a legend line ends the
    /// text when anything is marked.
    pub fn to_review_text(&self) -> String {
        let mut out = String::new();
        let mut marked = false;
        for s in &self.segments {
            let secs = s.start_ms / 1000;
            let (line, any) = s.marked_text();
            marked |= any;
            out.push_str(&format!("[{:02}:{:02}] {line}\n", secs / 60, secs % 60));
        }
        if marked {
            out.push_str(UNSURE_LEGEND);
            out.push('\n');
        }
        out
    }

    /// The words alone, for scoring and prompting.
    pub fn plain_text(&self) -> String {
        self.segments
            .iter()
            .map(|s| s.text.trim())
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    }

    pub fn duration_ms(&self) -> u64 {
        self.segments.last().map(|s| s.end_ms).unwrap_or(0)
    }

    /// Canonical bytes for sealing and hashing.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(text: &str, unsure: &[(u32, u32)]) -> Segment {
        Segment {
            id: 0,
            start_ms: 0,
            end_ms: 1000,
            speaker: None,
            text: text.to_string(),
            confidence: 0.9,
            unsure: unsure
                .iter()
                .map(|&(start_byte, end_byte)| TextSpan {
                    start_byte,
                    end_byte,
                })
                .collect(),
        }
    }

    #[test]
    fn pieces_alternate_sure_and_unsure_text_and_join_to_the_text() {
        let s = seg("Take metoprolol 25 mg daily.", &[(5, 15), (16, 18)]);
        assert_eq!(
            s.pieces(),
            vec![
                ("Take ", false),
                ("metoprolol", true),
                (" ", false),
                ("25", true),
                (" mg daily.", false)
            ]
        );
        assert_eq!(s.unsure_words(), vec!["metoprolol", "25"]);
        let joined: String = s.pieces().into_iter().map(|(t, _)| t).collect();
        assert_eq!(joined, s.text);
    }

    #[test]
    fn the_review_text_marks_unsure_words_and_segments_and_explains_the_marks() {
        let mut low = seg("I feel dizzy.", &[]);
        low.confidence = 0.2;
        low.start_ms = 61_000;
        let t = Transcript {
            language: "en".into(),
            segments: vec![
                seg("Take metoprolol 25 mg daily.", &[(5, 18), (22, 28)]),
                low,
            ],
            model_sha256: String::new(),
        };
        assert_eq!(
            t.to_review_text(),
            format!(
                "[00:00] Take metoprolol(?) 25(?) mg daily(?).\n[01:01] I feel dizzy. (unsure)\n{UNSURE_LEGEND}\n"
            )
        );
        let sure = Transcript {
            segments: vec![seg("All good.", &[])],
            ..t
        };
        assert_eq!(sure.to_review_text(), sure.to_text());
    }

    #[test]
    fn fail_damaged_spans_are_ignored_not_trusted() {
        // Out of range, reversed, overlapping, inside a character: none panics,
        // none is marked, and the text is whole.
        let s = seg("naïve pain", &[(0, 99), (4, 2), (3, 4), (0, 6), (2, 6)]);
        let joined: String = s.pieces().into_iter().map(|(t, _)| t).collect();
        assert_eq!(joined, s.text);
        assert_eq!(s.unsure_words(), vec!["naïve"]);
    }

    #[test]
    fn a_transcript_without_unsure_words_reads_and_writes_as_before() {
        let old = r#"{"language":"en","segments":[{"id":0,"start_ms":0,"end_ms":10,"speaker":null,"text":"hi","confidence":1.0}],"model_sha256":""}"#;
        let t = Transcript::from_bytes(old.as_bytes()).unwrap();
        assert!(t.segments[0].unsure.is_empty());
        assert_eq!(String::from_utf8(t.to_bytes()).unwrap(), old);
        let mut t = t;
        t.segments[0].unsure = vec![TextSpan {
            start_byte: 0,
            end_byte: 2,
        }];
        let back = Transcript::from_bytes(&t.to_bytes()).unwrap();
        assert_eq!(back, t);
    }
}
