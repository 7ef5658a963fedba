//! ACI-Bench CSV rows to encounters: a transcript built from the dialogue
//! turns and the reference note as written.
//!
//! Columns are found by their header names, so extra columns or another
//! order do not matter. Dialogue lines start with a speaker tag
//! (`[doctor]`, `[patient]`, `[patient_guest]`, …); each tagged line is one
//! segment, and a line without a tag continues the segment before it (the
//! data set has a few turns broken over two lines).

use std::io::Read;
use std::path::Path;

use tacet_core::{Segment, Speaker, Transcript};

use crate::EvalError;

/// Spacing of the synthetic segment times: one turn every 5 s. The times
/// only order the segments; the prompt shows them as `[mm:ss]`.
const TURN_MS: u64 = 5_000;
const TURN_LENGTH_MS: u64 = 4_800;

/// One encounter of the evaluation set.
#[derive(Clone, Debug, PartialEq)]
pub struct Encounter {
    /// The sub-corpus (`aci`, `virtassist`, `virtscribe`); empty when the
    /// file has no `dataset` column.
    pub dataset: String,
    pub encounter_id: String,
    pub transcript: Transcript,
    /// The reference note, as written in the file.
    pub reference_note: String,
}

/// Reads every encounter of an ACI-Bench-format CSV file.
pub fn read_encounters(path: &Path) -> Result<Vec<Encounter>, EvalError> {
    let file = std::fs::File::open(path).map_err(|source| EvalError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_encounters(file, path)
}

fn csv_problem(e: &csv::Error) -> String {
    // The csv crate's messages name positions and counts, never field text.
    match e.position() {
        Some(p) => format!("record {} (line {}): {e}", p.record(), p.line()),
        None => e.to_string(),
    }
}

/// Parses ACI-Bench-format CSV from `reader`; `path` names the source in
/// errors.
pub fn parse_encounters<R: Read>(reader: R, path: &Path) -> Result<Vec<Encounter>, EvalError> {
    let csv_err = |e: csv::Error| EvalError::Csv {
        path: path.to_path_buf(),
        problem: csv_problem(&e),
    };
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(reader);
    let headers = rdr.headers().map_err(csv_err)?.clone();
    let column = |name: &'static str| {
        headers
            .iter()
            .position(|h| h.trim() == name)
            .ok_or(EvalError::MissingColumn {
                path: path.to_path_buf(),
                column: name,
            })
    };
    let dataset_col = column("dataset").ok();
    let id_col = column("encounter_id")?;
    let dialogue_col = column("dialogue")?;
    let note_col = column("note")?;

    let mut out = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(csv_err)?;
        let record = i + 1;
        let field = |c: usize| rec.get(c).unwrap_or("");
        let encounter_id = field(id_col).trim().to_string();
        let transcript = transcript_from_dialogue(field(dialogue_col));
        if transcript.segments.is_empty() {
            return Err(EvalError::EmptyDialogue {
                path: path.to_path_buf(),
                record,
                encounter_id,
            });
        }
        let reference_note = field(note_col).to_string();
        if reference_note.trim().is_empty() {
            return Err(EvalError::EmptyNote {
                path: path.to_path_buf(),
                record,
                encounter_id,
            });
        }
        out.push(Encounter {
            dataset: dataset_col.map(field).unwrap_or("").trim().to_string(),
            encounter_id,
            transcript,
            reference_note,
        });
    }
    Ok(out)
}

/// The speaker a tag names: its channel, and the label folded into the
/// segment text (`doctor` → "Doctor", `patient_guest` → "Patient guest").
fn speaker_of(tag: &str) -> (Option<Speaker>, String) {
    let tag = tag.trim().to_lowercase();
    let channel = match tag.as_str() {
        "doctor" => Some(Speaker::Channel0),
        "patient" => Some(Speaker::Channel1),
        _ => None,
    };
    let words = tag.replace('_', " ");
    let mut label = String::with_capacity(words.len());
    let mut chars = words.trim().chars();
    if let Some(first) = chars.next() {
        label.extend(first.to_uppercase());
        label.push_str(chars.as_str());
    }
    (channel, label)
}

/// The dialogue as a transcript: one segment per tagged turn, the speaker
/// folded into its text ("Doctor: how are you ?").
pub fn transcript_from_dialogue(dialogue: &str) -> Transcript {
    let mut segments: Vec<Segment> = Vec::new();
    for line in dialogue.lines() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let tagged = line
            .strip_prefix('[')
            .and_then(|rest| rest.split_once(']'))
            .filter(|(tag, _)| !tag.trim().is_empty() && !tag.contains(' '));
        match (tagged, segments.last_mut()) {
            (None, Some(prev)) => {
                prev.text.push(' ');
                prev.text.push_str(line);
            }
            (tagged, _) => {
                let (speaker, text) = match tagged {
                    Some((tag, text)) => {
                        let (speaker, label) = speaker_of(tag);
                        (speaker, format!("{label}: {}", text.trim()))
                    }
                    None => (None, line.to_string()),
                };
                let id = segments.len() as u32;
                segments.push(Segment {
                    id,
                    start_ms: u64::from(id) * TURN_MS,
                    end_ms: u64::from(id) * TURN_MS + TURN_LENGTH_MS,
                    speaker,
                    text,
                    // Written dialogue: no recogniser, so full confidence.
                    confidence: 1.0,
                    unsure: Vec::new(),
                });
            }
        }
    }
    Transcript {
        language: "en".into(),
        segments,
        model_sha256: String::new(),
    }
}

/// The transcript as a one-microphone recording gives it: no channel, no
/// speaker label in the text; and, per segment, whether the data set's tag
/// said the doctor spoke it (`Some(true)`), the patient (`Some(false)`), or
/// someone else (`None`) — the truth speaker roles are measured against.
pub fn untagged(transcript: &Transcript) -> (Transcript, Vec<Option<bool>>) {
    let mut truth = Vec::with_capacity(transcript.segments.len());
    let mut out = transcript.clone();
    for s in &mut out.segments {
        truth.push(match s.speaker {
            Some(Speaker::Channel0) => Some(true),
            Some(Speaker::Channel1) => Some(false),
            None => None,
        });
        if let Some((label, text)) = s.text.split_once(": ") {
            if !label.contains(' ') || label.starts_with("Patient") {
                s.text = text.to_string();
            }
        }
        s.speaker = None;
    }
    (out, truth)
}

/// Turns whose speaker the composer inferred right: the majority role of
/// each segment's sentences against its tag.
pub fn role_accuracy(transcript: &Transcript, truth: &[Option<bool>]) -> (usize, usize) {
    let visit = tacet_facts::read_visit(transcript, false);
    let (mut ok, mut n) = (0, 0);
    for (seg, want) in transcript.segments.iter().zip(truth) {
        let Some(doctor) = want else { continue };
        let (mut c, mut p) = (0, 0);
        for u in visit.utterances.iter().filter(|u| u.segment == seg.id) {
            match u.role {
                tacet_facts::Role::Clinician => c += u.text.len(),
                tacet_facts::Role::Patient => p += u.text.len(),
            }
        }
        if c + p == 0 {
            continue;
        }
        n += 1;
        if (c > p) == *doctor {
            ok += 1;
        }
    }
    (ok, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Quotes, commas and newlines inside fields, an extra column, a turn
    /// broken over two lines, and a guest speaker.
    const CSV: &str = "dataset,encounter_id,dialogue,note,extra\n\
aci,D2N001,\"[doctor] hi , anna . how are you ?\n[patient] \"\"fine\"\" , thanks , but my left knee hurts .\nit started last week .\n[patient_guest] she fell .\",\"CHIEF COMPLAINT\n\nLeft knee pain.\n\nHISTORY OF PRESENT ILLNESS\n\nAnna fell, she says \"\"last week\"\".\",x\n\
virtassist,D2N002,[doctor] any allergies ?,\"CHIEF COMPLAINT\n\nCheck-up.\",\n";

    fn parse(text: &str) -> Result<Vec<Encounter>, EvalError> {
        parse_encounters(text.as_bytes(), Path::new("inline.csv"))
    }

    #[test]
    fn parses_dialogue_turns_and_reference_notes() {
        let encs = parse(CSV).unwrap();
        assert_eq!(encs.len(), 2);
        let e = &encs[0];
        assert_eq!(e.dataset, "aci");
        assert_eq!(e.encounter_id, "D2N001");
        let texts: Vec<&str> = e
            .transcript
            .segments
            .iter()
            .map(|s| s.text.as_str())
            .collect();
        assert_eq!(
            texts,
            [
                "Doctor: hi , anna . how are you ?",
                "Patient: \"fine\" , thanks , but my left knee hurts . it started last week .",
                "Patient guest: she fell .",
            ]
        );
        let speakers: Vec<_> = e.transcript.segments.iter().map(|s| s.speaker).collect();
        assert_eq!(
            speakers,
            [Some(Speaker::Channel0), Some(Speaker::Channel1), None]
        );
        let ids: Vec<u32> = e.transcript.segments.iter().map(|s| s.id).collect();
        assert_eq!(ids, [0, 1, 2]);
        assert!(e
            .transcript
            .segments
            .windows(2)
            .all(|w| w[0].end_ms < w[1].start_ms));
        assert_eq!(
            e.reference_note,
            "CHIEF COMPLAINT\n\nLeft knee pain.\n\nHISTORY OF PRESENT ILLNESS\n\nAnna fell, she says \"last week\"."
        );
        assert_eq!(encs[1].transcript.segments.len(), 1);
        assert_eq!(
            encs[1].transcript.segments[0].text,
            "Doctor: any allergies ?"
        );
        assert_eq!(encs[1].reference_note, "CHIEF COMPLAINT\n\nCheck-up.");
    }

    #[test]
    fn columns_are_found_by_name() {
        let csv = "note,dialogue,encounter_id\nKnee pain.,[doctor] knee ?,E1\n";
        let encs = parse(csv).unwrap();
        assert_eq!(encs[0].dataset, "");
        assert_eq!(encs[0].encounter_id, "E1");
        assert_eq!(encs[0].reference_note, "Knee pain.");
    }

    #[test]
    fn fail_missing_note_column() {
        let err = parse("dataset,encounter_id,dialogue\naci,E1,[doctor] hi\n").unwrap_err();
        assert!(matches!(
            err,
            EvalError::MissingColumn { column: "note", .. }
        ));
        assert!(err.to_string().contains("inline.csv"));
    }

    #[test]
    fn fail_empty_dialogue() {
        let err = parse("encounter_id,dialogue,note\nE1,,Knee pain.\n").unwrap_err();
        assert!(matches!(err, EvalError::EmptyDialogue { record: 1, .. }));
    }

    #[test]
    fn fail_ragged_record_names_position_not_text() {
        let err =
            parse("encounter_id,dialogue,note\nE1,[doctor] secret words,n,extra\n").unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, EvalError::Csv { .. }));
        assert!(!msg.contains("secret"), "{msg}");
    }
}
