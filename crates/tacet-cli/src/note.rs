//! A session's note: started from a recording, drafted, reviewed and
//! attested, exported — each step one call into the session API, printed.

use crate::compose::{self, SystemClock};
use crate::run::{engines, templates};
use anyhow::{bail, Context, Result};
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use tacet_app::{
    App, Attestation, ExportFormat, ExportTo, Exported, Note, Started, TemplateLibrary,
};
use tacet_core::ports::{DraftProgress, SessionStore};
use tacet_core::{PatientRef, SessionId};
use tacet_runtime::NoteFiles;

pub(crate) fn new_session(
    data_dir: &Path,
    store: &mut dyn SessionStore,
    audio: &Path,
    template: &str,
    patient: &str,
) -> Result<SessionId> {
    let visit = tacet_runtime::live::read_visit_audio(audio)?;
    eprintln!(
        "Read {} ({} Hz, {} channel(s), {:.1} s); transcribing on this machine…",
        audio.display(),
        visit.sample_rate_hz,
        visit.channels,
        visit.duration_ms as f64 / 1000.0
    );
    let models = compose::model_store(data_dir)?;
    let approved = compose::ApprovedModels::read(&models, store)?;
    let mut asr = compose::transcriber(&models, &approved)?;
    let lib = templates(data_dir)?;
    let clock = SystemClock;
    let mut e = engines(Some(&mut asr), None, &lib, &clock);
    let started = std::time::Instant::now();
    let Started {
        session,
        transcript,
    } = App::new(store, &mut e).start_from_audio(
        template,
        &PatientRef::new(patient),
        &visit.samples_16k,
    )?;
    println!("Session {session} ({template})");
    println!(
        "Transcript ({} segments, {:.1} s to transcribe):",
        transcript.segments.len(),
        started.elapsed().as_secs_f64()
    );
    print!("{}", transcript.to_review_text());
    Ok(session)
}

pub(crate) fn draft(
    data_dir: &Path,
    store: &mut dyn SessionStore,
    id: SessionId,
) -> Result<ExitCode> {
    let models = compose::model_store(data_dir)?;
    if tacet_runtime::draft_mode()? == tacet_runtime::DraftMode::Rephrased {
        eprintln!("Loading the drafting model…");
    }
    let approved = compose::ApprovedModels::read(&models, store)?;
    let mut llm = compose::drafter(&models, &approved)?;
    draft_with(data_dir, store, id, &mut llm)
}

/// Drafts session `id` with a drafter already loaded (by `tacet draft`, or
/// by `tacet session record --draft`, which read the transcript ahead into
/// it while recording), streaming the draft to stdout.
pub(crate) fn draft_with(
    data_dir: &Path,
    store: &mut dyn SessionStore,
    id: SessionId,
    llm: &mut tacet_runtime::NoteDrafter,
) -> Result<ExitCode> {
    let lib = templates(data_dir)?;
    let clock = SystemClock;
    let mode = llm.mode();
    let mut e = engines(None, Some(&mut *llm), &lib, &clock);
    let started = std::time::Instant::now();
    let mut out = std::io::stdout();
    let mut progress = |p: DraftProgress<'_>| {
        match p {
            DraftProgress::Section(h) => {
                let _ = write!(out, "\n{h}:\n");
            }
            DraftProgress::Token(t) => {
                let _ = write!(out, "{t}");
            }
        }
        let _ = out.flush();
    };
    println!(
        "DRAFT ({}; not reviewed):",
        match mode {
            tacet_runtime::DraftMode::Composed =>
                "composed from the facts of the transcript, each sentence with its evidence",
            tacet_runtime::DraftMode::Rephrased =>
                "composed from the facts of the transcript, reworded by the local model where the wording kept every fact",
        }
    );
    {
        let draft = App::new(store, &mut e).draft(id, &mut progress, &AtomicBool::new(false))?;
        let rephrased = draft
            .provenance
            .sentences
            .iter()
            .filter(|s| s.origin == tacet_core::SentenceOrigin::Rephrased)
            .count();
        if !draft.provenance.sentences.is_empty() {
            println!(
                "\n\n[{} sentence(s) composed from the transcript, {rephrased} of them reworded by the model]",
                draft.provenance.sentences.len()
            );
        }
        println!(
            "\n\n[drafted in {:.1} s by {} (sha256 {}…), template {} v{}, greedy={}, seed {}]",
            started.elapsed().as_secs_f64(),
            draft.provenance.model_id,
            &draft.provenance.model_sha256[..12.min(draft.provenance.model_sha256.len())],
            draft.provenance.template_id,
            draft.provenance.template_version,
            draft.provenance.sampling.temperature == 0.0,
            draft.provenance.sampling.seed,
        );
        if let Some(notice) = draft.provenance.coverage_notice() {
            println!("NOTE: {notice}");
        }
        let reused = llm.reused_prompt_tokens();
        if reused > 0 {
            println!("[{reused} prompt tokens were read while recording]");
        }
        println!("Next: review it (tacet review {id}), then attest (tacet review {id} --attest).");
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn review(
    store: &mut dyn SessionStore,
    id: SessionId,
    attest: bool,
    edited: Option<&Path>,
    accept_flags: Option<&str>,
) -> Result<ExitCode> {
    review_confirming(
        store,
        id,
        Attest {
            attest,
            edited,
            accept_flags,
            confirm_empty: false,
        },
    )
}

/// What `tacet review` was asked to do beyond showing the note.
pub(crate) struct Attest<'a> {
    pub(crate) attest: bool,
    /// Attest this file's text instead of the draft as shown.
    pub(crate) edited: Option<&'a Path>,
    pub(crate) accept_flags: Option<&'a str>,
    /// The clinician confirms that a note with no content is meant to be
    /// empty (`--confirm-empty`).
    pub(crate) confirm_empty: bool,
}

/// `tacet review`: show the note (with its grounding), or attest it.
pub(crate) fn review_confirming(
    store: &mut dyn SessionStore,
    id: SessionId,
    ask: Attest<'_>,
) -> Result<ExitCode> {
    let Attest {
        attest,
        edited,
        accept_flags,
        confirm_empty,
    } = ask;
    let lib = TemplateLibrary::built_in()?;
    let clock = SystemClock;
    let mut e = engines(None, None, &lib, &clock);
    let Note { text, attested } = App::new(store, &mut e).show_note(id)?;
    if !attest {
        println!(
            "{}",
            if attested {
                "NOTE (attested):"
            } else {
                "DRAFT (not reviewed):"
            }
        );
        if attested {
            print!("{text}");
            return Ok(ExitCode::SUCCESS);
        }
        let g = App::new(store, &mut e).grounding(id)?;
        print!("{}", tacet_app::render_for_review(&g));
        let open = tacet_app::open_flags(&g, &text);
        println!(
            "\n{} sentence(s), {} flag(s) to resolve (checked against the transcript, not by the model).",
            g.sentences.len(),
            open
        );
        if tacet_core::review::is_empty_note(&text) {
            println!("{}", empty_draft_warning(id));
        }
        println!("To sign it as reviewed: tacet review {id} --attest  (or --edited FILE with your corrected text;");
        println!(
            "flags on sentences you keep must be accepted: --accept-flags \"why they are right\")"
        );
        return Ok(ExitCode::SUCCESS);
    }
    let text = match edited {
        Some(p) => std::fs::read_to_string(p)
            .with_context(|| format!("cannot read the edited note {}", p.display()))?,
        None => text,
    };
    let confirmed_empty = confirm_empty && tacet_core::review::is_empty_note(&text);
    let note_sha256_hex = App::new(store, &mut e).attest(
        id,
        Attestation {
            text,
            accept_flags: accept_flags.map(str::to_string),
            confirm_empty,
        },
    )?;
    println!(
        "Attested by {}: \"{}\"",
        store.actor().user,
        tacet_core::review::ATTESTATION_STATEMENT
    );
    println!("  note sha256 {note_sha256_hex}");
    if confirmed_empty {
        println!(
            "  confirmed: \"{}\" (recorded in the audit log)",
            tacet_core::review::CONFIRM_EMPTY_STATEMENT
        );
    }
    println!("Next: tacet export {id} [--out note.txt]");
    Ok(ExitCode::SUCCESS)
}

/// The warning `tacet review` prints above the attest hint when the draft
/// says nothing.
pub(crate) fn empty_draft_warning(id: SessionId) -> String {
    format!(
        "WARNING: this draft has no content: every section is empty or says \"Not discussed.\". \
         Check the transcript, and attest it with --edited FILE holding what the visit covered; \
         if the note is meant to be empty, attest with: tacet review {id} --attest --confirm-empty"
    )
}

/// Exports the attested note in `format` to `out` (or stdout); the
/// application layer renders it, writes it, and destroys the session. No
/// attested note: it refuses (and audits the refusal).
pub(crate) fn export(
    store: &mut dyn SessionStore,
    id: SessionId,
    out: Option<&Path>,
    format: ExportFormat,
    lib: &TemplateLibrary,
) -> Result<ExitCode> {
    if out.is_none() && format.is_binary() {
        bail!(
            "a {} export needs a file: add --out note.{}",
            format.label(),
            format.extension()
        );
    }
    let clock = SystemClock;
    let mut e = engines(None, None, lib, &clock);
    let to = match out {
        Some(path) => ExportTo::File(path),
        None => ExportTo::Stdout,
    };
    let Exported { checkpoint, kept } = match App::new(store, &mut e).export(
        id,
        format,
        to,
        &mut NoteFiles,
    ) {
        Ok(o) => o,
        Err(err) if err.is_review_required() => {
            bail!("export refused: {err}. Review it with `tacet review {id}`, then `tacet review {id} --attest`.")
        }
        Err(err) => return Err(err.into()),
    };
    let receipt = kept.receipt();
    if let Some(p) = out {
        eprintln!(
            "Exported the attested note as {} to {}",
            format.label(),
            p.display()
        );
    }
    if receipt.receipt_id.starts_with("scheduled-") {
        eprintln!(
            "Session {} will be destroyed when the practice's grace period after export ends (receipt {}).",
            receipt.session.short(),
            receipt.receipt_id
        );
        eprintln!("Audit checkpoint carried with the note:\n{checkpoint}");
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!(
        "Session {} destroyed: key {} and {} ciphertexts deleted. Receipt {} (audit record {}).",
        receipt.session.short(),
        receipt.key_id_hex,
        receipt.destroyed_ciphertexts,
        receipt.receipt_id,
        receipt.audit_seq
    );
    eprintln!("Audit checkpoint carried with the note:\n{checkpoint}");
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_empty_draft_warning_says_what_is_wrong_and_how_to_confirm() {
        let id = SessionId([0xab; 16]);
        let w = empty_draft_warning(id);
        assert!(w.starts_with("WARNING: this draft has no content"), "{w}");
        assert!(
            w.contains(&format!("tacet review {id} --attest --confirm-empty")),
            "{w}"
        );
        assert!(!w.contains('\n'), "one line: {w}");
    }
}
