//! The whole clinician flow, driven through the real window code and the
//! real worker with egui_kittest (no display, no GPU): unlock on a demo
//! vault, consent, transcribe a clip of the demo visit with whisper tiny.en,
//! draft with SmolLM2, review every section and flag, attest, copy, finish,
//! lock — then the admin's view of what is left.
//!
//! `tacet-ui`'s own flow tests run the same screens against a fake backend;
//! this one exists because only the real worker can show that the pieces
//! fit: that the real engines' events reach the screens, that a real draft's
//! grounding flags can be answered, that the vault destroys the session and
//! its receipt reaches the admin's deletion log. The engines are the point,
//! so nothing is mocked; without the cached models the test says why and
//! returns.
//!
//! Controls are found by their accessible names, as a screen reader finds
//! them. The worker answers asynchronously, so between clicks the harness is
//! pumped frame by frame (with a short sleep) until a condition holds or a
//! generous timeout passes; a timeout fails with the current screen, busy
//! label and error. The harness advances its clock 0.25 s a frame, so the
//! pump counts as activity for the auto-lock, as a person at the keyboard
//! would during a long draft.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

use eframe::egui;
use egui_kittest::kittest::{NodeT, Queryable};
use egui_kittest::Harness;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tacet_desktop::{demo, worker};
use tacet_ui::state::SectionStatus;
use tacet_ui::{Screen, TacetUi};

/// Stored encrypted; must never reach the admin's screen.
const PATIENT_REF: &str = "MRN-KT-4711";
/// The clip cut from the demo visit: the medication and the allergy, which
/// gives the drafting model something to get wrong and the grounding
/// something to flag (SmolLM2's draft of it draws "unsupported" flags).
const CLIP_START_S: u32 = 40;
const CLIP_S: u32 = 12;
/// Words of the clip; those whisper heard must not reach the admin's
/// screen either.
const TRANSCRIPT_WORDS: [&str; 5] = ["penicillin", "allergic", "allergies", "hives", "milligrams"];
/// Any one step of the worker's other than drafting.
const STEP_TIMEOUT: Duration = Duration::from_secs(60);
/// Drafting on a loaded 2-core machine.
const DRAFT_TIMEOUT: Duration = Duration::from_secs(300);
const FRAME_SLEEP: Duration = Duration::from_millis(20);

type H = Harness<'static, TacetUi>;

/// Why the flow cannot run here, or the two inputs it needs.
fn inputs() -> Result<PathBuf, String> {
    let Some(cache) = tacet_models::cache_root() else {
        return Err("no model cache (set TACET_CACHE or HOME)".into());
    };
    for m in [
        "files/whisper-tiny.en-ct2/model.bin",
        "files/SmolLM2-135M-Instruct.Q4_1.gguf",
    ] {
        if !cache.join(m).exists() {
            return Err(format!(
                "{} is not cached (run scripts/fetch-models.sh)",
                cache.join(m).display()
            ));
        }
    }
    let wav = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/demo/visit.wav");
    if !wav.exists() {
        return Err(format!("{} is missing", wav.display()));
    }
    Ok(wav)
}

/// Writes `seconds` of `src` from `start_s` on to `dst`, in the source's
/// format.
fn cut_clip(src: &Path, dst: &Path, start_s: u32, seconds: u32) {
    let mut reader = hound::WavReader::open(src).unwrap();
    let spec = reader.spec();
    reader.seek(spec.sample_rate * start_s).unwrap();
    assert_eq!(spec.sample_format, hound::SampleFormat::Int);
    assert_eq!(spec.bits_per_sample, 16);
    let n = (spec.sample_rate * seconds * u32::from(spec.channels)) as usize;
    let mut writer = hound::WavWriter::create(dst, spec).unwrap();
    for s in reader.samples::<i16>().take(n) {
        writer.write_sample(s.unwrap()).unwrap();
    }
    writer.finalize().unwrap();
}

/// Where the app stands, for a failure message (no patient text: screen,
/// busy label and the error, which the app keeps free of it).
fn where_now(h: &H) -> String {
    let st = &h.state().state;
    format!(
        "screen {:?}, busy {:?}, error {:?}, notice {:?}",
        st.screen,
        st.busy.as_ref().map(|b| b.label.clone()),
        st.error,
        st.notice
    )
}

/// The real window over a real worker on the data folder `data`, in a
/// window `height_px` tall.
fn window(data: &Path, height_px: f32) -> H {
    let backend = worker::spawn(data.to_path_buf(), || {}).unwrap();
    let app = TacetUi::new(Box::new(backend));
    Harness::builder()
        .with_size(egui::vec2(1280.0, height_px))
        .build_ui_state(|ui, app: &mut TacetUi| app.ui(ui), app)
}

/// One frame, counted as activity.
fn frame(h: &mut H) {
    h.state_mut().note_activity();
    h.step();
}

/// Frames until the app settles (no immediate repaint) or a few dozen have
/// run: while the worker is busy the window repaints every frame, so
/// kittest's `run` would never settle.
fn settle(h: &mut H) {
    for _ in 0..40 {
        frame(h);
        let repaint_now = h
            .output()
            .viewport_output
            .get(&egui::ViewportId::ROOT)
            .is_some_and(|v| v.repaint_delay == Duration::ZERO);
        if !repaint_now {
            break;
        }
    }
}

/// Pumps frames until `done` holds; fails after `timeout` with where the
/// app stands. `what` names the wait in the message.
fn wait_until(h: &mut H, what: &str, timeout: Duration, done: impl Fn(&TacetUi) -> bool) {
    let started = Instant::now();
    loop {
        frame(h);
        if done(h.state()) {
            settle(h);
            return;
        }
        if started.elapsed() > timeout {
            panic!(
                "timed out after {:?} waiting for {what}: {}",
                timeout,
                where_now(h)
            );
        }
        std::thread::sleep(FRAME_SLEEP);
    }
}

/// The file is readable and writable by its owner only (0600).
fn assert_owner_only(p: &std::path::Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", p.display());
    }
    #[cfg(not(unix))]
    let _ = p;
}

fn click(h: &mut H, label: &str) {
    // A tall window needs no scrolling, but a long draft might: bring the
    // control into view before pointing at it.
    h.get_by_label(label).scroll_to_me();
    settle(h);
    h.get_by_label(label).click();
    settle(h);
}

fn type_into(h: &mut H, label: &str, text: &str) {
    click(h, label);
    h.get_by_label(label).type_text(text);
    settle(h);
}

fn unlock(h: &mut H, who: (&str, &str)) {
    settle(h);
    h.state_mut().state.unlock.user.clear();
    type_into(h, "User name", who.0);
    type_into(h, "Passphrase", who.1);
    click(h, "Unlock");
}

/// Every accessible name and value on screen that contains `needle`
/// (ignoring case).
fn texts_containing(h: &H, needle: &str) -> Vec<String> {
    let needle = needle.to_lowercase();
    h.root()
        .children_recursive()
        .filter_map(|n| {
            let a = n.accesskit_node();
            let found: Vec<String> = [a.label(), a.value()]
                .into_iter()
                .flatten()
                .filter(|t| t.to_lowercase().contains(&needle))
                .collect();
            (!found.is_empty()).then(|| found.join(" | "))
        })
        .collect()
}

/// Controls that would let the note out: copy, export, save.
fn export_like(h: &H) -> usize {
    h.query_all_by(|n| {
        n.label().is_some_and(|l| {
            let l = l.to_lowercase();
            l.contains("copy") || l.contains("export") || l.contains("save")
        })
    })
    .count()
}

/// The accessible names of the flag boxes' checkboxes, with their reason
/// fields, for the flagged sentences still in the note (numbered over the
/// whole note, as the review screen numbers them).
fn flag_controls(ui: &TacetUi) -> Vec<(String, String)> {
    let work = &ui.state.work;
    let Some(g) = &work.grounding else {
        return Vec::new();
    };
    let mut number = 0;
    let mut out = Vec::new();
    for (k, s) in g.sentences.iter().enumerate() {
        if s.flags.is_empty() {
            continue;
        }
        number += 1;
        if work.flag_present(k) {
            let labels: Vec<&str> = s.flags.iter().map(|f| f.label.as_str()).collect();
            out.push((
                format!("Accept flag {number} ({})", labels.join(", ")),
                format!("Reason for accepting flag {number}"),
            ));
        }
    }
    out
}

#[test]
fn the_whole_clinician_flow_on_a_demo_vault_with_the_real_models() {
    let wav = match inputs() {
        Ok(w) => w,
        Err(why) => {
            eprintln!("skipping the kittest flow: {why}");
            return;
        }
    };
    let t0 = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let vault_dir = dir.path().join("vault");
    // The worker unlocks only in a hardened process, as in `main`.
    tacet_sandbox::danger_harden_allowing_exec();
    demo::create(&vault_dir).unwrap();
    let clip = dir.path().join("visit-clip.wav");
    cut_clip(&wav, &clip, CLIP_START_S, CLIP_S);

    let mut h = window(&vault_dir, 2000.0);
    let mut phases: Vec<(&str, Duration)> = vec![("demo vault", t0.elapsed())];
    let mut mark = Instant::now();
    let mut lap = |name: &'static str, phases: &mut Vec<(&str, Duration)>| {
        phases.push((name, mark.elapsed()));
        mark = Instant::now();
    };

    // Unlock as the demo clinician.
    unlock(&mut h, demo::CLINICIAN);
    wait_until(&mut h, "the session list", STEP_TIMEOUT, |u| {
        u.state.screen == Screen::Sessions && u.state.busy.is_none()
    });
    lap("unlock", &mut phases);

    // A new session: patient reference, then consent.
    click(&mut h, "Start a new session");
    assert_eq!(h.state().state.screen, Screen::NewSession);
    type_into(
        &mut h,
        "Patient reference (chart number or initials; stored encrypted)",
        PATIENT_REF,
    );
    click(&mut h, "Yes, the patient consents");
    wait_until(&mut h, "the record screen", STEP_TIMEOUT, |u| {
        u.state.screen == Screen::Record && u.state.busy.is_none()
    });
    // The device list may be empty (or fail) on a machine with no audio.
    wait_until(&mut h, "the input devices", STEP_TIMEOUT, |u| {
        u.state.live.devices_loaded || u.state.error.is_some()
    });
    lap("consent", &mut phases);

    // Transcribe the clip.
    type_into(&mut h, "Recording file path", &clip.display().to_string());
    assert_eq!(
        h.state().state.new_session.wav_path,
        clip.display().to_string()
    );
    click(&mut h, "Transcribe recording (Ctrl+R)");
    wait_until(&mut h, "the transcript", STEP_TIMEOUT * 3, |u| {
        u.state.work.transcript.is_some() || (u.state.busy.is_none() && u.state.error.is_some())
    });
    assert!(
        h.state().state.work.transcript.is_some(),
        "{}",
        where_now(&h)
    );
    lap("transcribe", &mut phases);

    // Drafting streams tokens into the draft screen, then ends on Review.
    let started = Instant::now();
    let mut first_token = None;
    let mut streamed_chars = 0;
    loop {
        frame(&mut h);
        let st = &h.state().state;
        if st.screen == Screen::Draft && !st.work.live_draft.is_empty() {
            first_token.get_or_insert(started.elapsed());
            streamed_chars = streamed_chars.max(st.work.live_draft.len());
        }
        if st.screen == Screen::Review && st.work.grounding.is_some() {
            break;
        }
        if st.busy.is_none() && st.error.is_some() {
            panic!("drafting failed: {}", where_now(&h));
        }
        if started.elapsed() > DRAFT_TIMEOUT {
            panic!(
                "timed out after {DRAFT_TIMEOUT:?} waiting for the draft: {}",
                where_now(&h)
            );
        }
        std::thread::sleep(FRAME_SLEEP);
    }
    settle(&mut h);
    // The composed draft takes milliseconds, so it may reach the review
    // before a frame showed it streaming: what the clinician reads is the
    // review, and it must hold the clip's facts (the 12 s clip is the
    // allergy and aspirin turns of the demo visit).
    let first_token = first_token.unwrap_or_else(|| started.elapsed());
    let note: String = h
        .state()
        .state
        .work
        .sections
        .iter()
        .map(|s| s.text.to_lowercase())
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        note.contains("penicillin") || note.contains("aspirin"),
        "the draft lacks the clip's allergy and medication: {note}"
    );
    lap("draft", &mut phases);

    // The clinician leaves for the list before attesting, and opens the
    // session again from it: the same session, its transcript from the
    // vault, drafted again onto the review screen.
    let session = h.state().state.work.session;
    click(&mut h, "Sessions");
    click(&mut h, "Refresh");
    wait_until(&mut h, "the refreshed list", STEP_TIMEOUT, |u| {
        u.state.sessions.iter().any(|s| Some(s.id) == session)
    });
    click(&mut h, "Open");
    wait_until(&mut h, "the reopened review", DRAFT_TIMEOUT, |u| {
        (u.state.screen == Screen::Review && u.state.work.grounding.is_some())
            || (u.state.busy.is_none() && u.state.error.is_some())
    });
    assert_eq!(h.state().state.work.session, session, "{}", where_now(&h));
    let reopened: String = h
        .state()
        .state
        .work
        .sections
        .iter()
        .map(|s| s.text.to_lowercase())
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(reopened, note, "the same transcript drafts the same note");
    settle(&mut h);
    lap("reopen", &mut phases);

    // Review: the transcript is beside the draft, and nothing can leave yet.
    let transcript_text = h
        .state()
        .state
        .work
        .transcript
        .as_ref()
        .unwrap()
        .segments
        .iter()
        .map(|s| s.text.to_lowercase())
        .collect::<Vec<_>>()
        .join(" ");
    let heard: Vec<&str> = TRANSCRIPT_WORDS
        .into_iter()
        .filter(|w| transcript_text.contains(w))
        .collect();
    assert!(
        heard.len() >= 2,
        "whisper heard too few of the clip's words ({heard:?})"
    );
    assert!(!texts_containing(&h, heard[0]).is_empty());
    assert_eq!(
        export_like(&h),
        0,
        "no copy/export/save control on the review screen"
    );
    let headings: Vec<String> = h
        .state()
        .state
        .work
        .sections
        .iter()
        .map(|s| s.heading.clone())
        .collect();
    assert!(!headings.is_empty());
    // Edit the first section, accept the rest.
    let first = headings[0].clone();
    click(&mut h, &format!("Edit {first}"));
    click(&mut h, &format!("Edit {first}"));
    // To the end of the text (Ctrl+Down), then append.
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::ArrowDown);
    settle(&mut h);
    h.get_by_label(&format!("Edit {first}"))
        .type_text(" Reviewed with the patient.");
    settle(&mut h);
    assert!(h.state().state.work.sections[0]
        .text
        .ends_with(" Reviewed with the patient."));
    click(&mut h, &format!("Done editing {first}"));
    assert_eq!(
        h.state().state.work.sections[0].status,
        SectionStatus::Edited
    );
    for heading in &headings[1..] {
        click(&mut h, &format!("Accept {heading}"));
    }
    assert_eq!(h.state().state.work.unresolved(), 0);
    // Every flag the grounding raised on the real draft is kept with a reason.
    let flags = flag_controls(h.state());
    for (accept, reason) in &flags {
        click(&mut h, accept);
        type_into(&mut h, reason, "Checked against the recording");
    }
    assert_eq!(h.state().state.work.open_flags(), 0, "{}", where_now(&h));
    click(&mut h, "I have reviewed this note and it is accurate.");
    type_into(&mut h, "Passphrase (re-enter to sign)", demo::CLINICIAN.1);
    assert_eq!(
        export_like(&h),
        0,
        "still none with everything reviewed but not attested"
    );
    let expected_note = h.state().state.work.note_text();
    assert!(!h
        .get_by_label("Attest and sign (Ctrl+Enter)")
        .accesskit_node()
        .is_disabled());
    click(&mut h, "Attest and sign (Ctrl+Enter)");
    wait_until(&mut h, "the export screen", STEP_TIMEOUT, |u| {
        u.state.screen == Screen::Export || u.state.work.attest_refusal.is_some()
    });
    assert_eq!(
        h.state().state.screen,
        Screen::Export,
        "refused: {:?}",
        h.state().state.work.attest_refusal
    );
    let attested = h.state().state.work.attested.clone().unwrap();
    assert_eq!(attested.text, expected_note);
    assert!(attested.text.contains("Reviewed with the patient."));
    lap("review and attest", &mut phases);

    // Left before export and opened again from the list: the note exactly
    // as attested, read back from the vault.
    click(&mut h, "Sessions");
    click(&mut h, "Refresh");
    wait_until(
        &mut h,
        "the attested session in the list",
        STEP_TIMEOUT,
        |u| {
            u.state
                .sessions
                .iter()
                .any(|s| Some(s.id) == session && s.state == tacet_core::SessionState::Attested)
        },
    );
    h.state_mut().state.work.attested = None;
    click(&mut h, "Open");
    wait_until(&mut h, "the reopened export", STEP_TIMEOUT, |u| {
        (u.state.screen == Screen::Export && u.state.work.attested.is_some())
            || (u.state.busy.is_none() && u.state.error.is_some())
    });
    let reopened = h.state().state.work.attested.clone();
    assert_eq!(
        reopened.as_ref().map(|a| a.text.as_str()),
        Some(attested.text.as_str()),
        "{}",
        where_now(&h)
    );
    assert_eq!(
        reopened.map(|a| a.note_sha256_hex),
        Some(attested.note_sha256_hex.clone())
    );

    // Export controls exist only now; copy the whole note.
    h.get_by_label("Copy whole note");
    h.get_by_label(&format!("Copy {first}"));
    h.get_by_label("Save as text");
    assert!(h.query_by_label("Session destroyed").is_none());
    h.get_by_label("Copy whole note").click();
    let started = Instant::now();
    let mut copied = false;
    while !copied || h.state().state.busy.is_some() {
        frame(&mut h);
        copied |= h
            .output()
            .platform_output
            .commands
            .iter()
            .any(|c| matches!(c, egui::OutputCommand::CopyText(t) if t == &attested.text));
        assert!(
            started.elapsed() < STEP_TIMEOUT,
            "the note was not copied: {}",
            where_now(&h)
        );
        std::thread::sleep(FRAME_SLEEP);
    }
    settle(&mut h);
    // The session is destroyed, with its receipt on screen.
    h.get_by_label("Session destroyed");
    let receipt = h.state().state.work.receipt.clone().unwrap();
    h.get_by_label(&receipt.receipt_id);
    // The copied note leaves the clipboard after the practice's interval
    // (30 s by default; the harness clock runs 0.25 s a frame). Waited for
    // here, so its banner cannot appear, and move the controls, while a
    // later step is pointing at one.
    wait_until(&mut h, "the clipboard cleared", STEP_TIMEOUT, |u| {
        u.state.notice.as_deref() == Some("The clipboard was cleared.")
    });
    click(&mut h, "Dismiss");
    // A later save of the same note, its session destroyed, comes from the
    // note the worker keeps (tacet_app's export_again): a new owner-only
    // file with the note and the checkpoint that includes this save; the
    // same name again is refused, the file left as it was.
    let again = dir.path().join("note-saved-after-destroy.txt");
    h.state_mut().state.work.save_path.clear();
    type_into(
        &mut h,
        "Save to (path of a new file)",
        &again.display().to_string(),
    );
    click(&mut h, "Save another copy as text");
    wait_until(&mut h, "the note saved again", STEP_TIMEOUT, |u| {
        u.state.busy.is_none() && (again.exists() || u.state.error.is_some())
    });
    let saved =
        std::fs::read_to_string(&again).unwrap_or_else(|e| panic!("{e}: {}", where_now(&h)));
    assert!(saved.starts_with(&attested.text), "{saved}");
    assert!(
        saved.contains("Tacet audit checkpoint at export"),
        "{saved}"
    );
    assert_owner_only(&again);
    click(&mut h, "Save another copy as PDF");
    wait_until(&mut h, "the refusal of a taken name", STEP_TIMEOUT, |u| {
        u.state.busy.is_none() && u.state.error.is_some()
    });
    let error = h.state().state.error.clone().unwrap_or_default();
    assert!(error.contains("already exists"), "{error}");
    assert_eq!(std::fs::read_to_string(&again).unwrap(), saved);
    h.state_mut().state.error = None;
    lap("export", &mut phases);

    // Finish: the list shows the destroyed session with its receipt.
    click(&mut h, "Finish");
    wait_until(
        &mut h,
        "the destroyed session in the list",
        STEP_TIMEOUT,
        |u| {
            u.state.screen == Screen::Sessions
                && u.state
                    .sessions
                    .iter()
                    .any(|s| s.receipt_id.as_deref() == Some(receipt.receipt_id.as_str()))
        },
    );
    h.get_by_label(&receipt.receipt_id);
    h.get_by_label("destroyed");
    assert!(texts_containing(&h, PATIENT_REF).is_empty());
    click(&mut h, "Lock");
    assert_eq!(h.state().state.screen, Screen::Unlock);
    assert!(h.state().state.work.transcript.is_none());
    lap("finish and lock", &mut phases);

    // The admin, on the same vault: the receipt in the deletion log, and no
    // patient text anywhere on the screen or in the view state.
    unlock(&mut h, demo::ADMIN);
    wait_until(&mut h, "the admin screen", STEP_TIMEOUT, |u| {
        let a = &u.state.admin;
        u.state.screen == Screen::Admin
            && a.deletions.is_some()
            && a.models.is_some()
            && a.users.is_some()
            && a.retention.is_some()
    });
    let deletions = h.state().state.admin.deletions.clone().unwrap();
    assert!(deletions.iter().any(|d| d.receipt_id == receipt.receipt_id));
    h.get_by_label(&receipt.receipt_id);
    for needle in std::iter::once(PATIENT_REF).chain(heard.iter().copied()) {
        assert!(
            texts_containing(&h, needle).is_empty(),
            "the admin screen shows patient text ({needle:?})"
        );
    }
    // The templates' guidance names what a note covers ("allergies"): the
    // template library is not patient text, so it is left out of the search.
    let mut view = h.state().state.clone();
    view.templates.clear();
    let view = format!("{view:?}").to_lowercase();
    assert!(!view.contains(&PATIENT_REF.to_lowercase()));
    for w in &heard {
        assert!(!view.contains(w), "the admin's view state holds {w:?}");
    }
    // A copy of the support log for whoever supports the practice.
    let copy = dir.path().join("support-copy.log");
    type_into(
        &mut h,
        "Save a copy of the support log to (path of a new file)",
        &copy.display().to_string(),
    );
    click(&mut h, "Save a copy for support");
    wait_until(&mut h, "the support log copy", STEP_TIMEOUT, |u| {
        u.state.admin.support_log_saved.is_some()
    });
    let saved = std::fs::read_to_string(&copy).unwrap();
    assert!(
        saved.contains("event=\"step.ended\" step=\"export\""),
        "{saved}"
    );
    assert_owner_only(&copy);
    click(&mut h, "Lock");
    assert_eq!(h.state().state.screen, Screen::Unlock);
    lap("admin", &mut phases);

    // The support log (issue 25): each step the worker ran, by name, with
    // its outcome, and no patient reference or word of the visit.
    let logs = tacet_runtime::support_log::dir(&vault_dir);
    let log: String = std::fs::read_dir(&logs)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    for step in [
        "unlock",
        "consent",
        "transcribe",
        "draft",
        "attest",
        "export",
    ] {
        assert!(
            log.contains(&format!("event=\"step.ended\" step=\"{step}\"")),
            "{step} not in the support log:\n{log}"
        );
    }
    for needle in std::iter::once(PATIENT_REF).chain(heard.iter().copied()) {
        assert!(
            !log.to_lowercase().contains(&needle.to_lowercase()),
            "{needle:?} is in the support log"
        );
    }

    eprintln!(
        "kittest flow: {:.1} s in all; first token after {:.1} s, {streamed_chars} chars streamed, {} flag(s) answered, {} section(s)",
        t0.elapsed().as_secs_f64(),
        first_token.as_secs_f64(),
        flags.len(),
        headings.len()
    );
    for (name, d) in phases {
        eprintln!("  {name}: {:.1} s", d.as_secs_f64());
    }
}

/// First run in the window on the real worker: no vault in the data folder,
/// so the walk creates it (the key derivation calibrated on this machine),
/// imports the real models from a folder as a practice brings them (with a
/// file that is not a model, refused by name), anchors the audit log on a
/// "stick", shows the consent texts from the vault's settings, and hands
/// over to the clinician, who signs in with the passphrase chosen in it.
#[test]
fn first_run_in_the_window_creates_the_vault_imports_the_models_and_anchors_the_log() {
    if let Err(why) = inputs() {
        assert!(
            std::env::var_os("TACET_CI").is_none(),
            "the first-run walk needs the cached models in CI: {why}"
        );
        eprintln!("skipping the first-run walk: {why}");
        return;
    }
    let cache = tacet_models::cache_root().unwrap().join("files");
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let anchor = dir.path().join("usb-stick");
    std::fs::create_dir(&anchor).unwrap();
    // The models as a practice brings them, beside a file that is not one.
    let models = dir.path().join("models-from-the-vendor");
    std::fs::create_dir(&models).unwrap();
    for name in ["whisper-tiny.en-ct2", "SmolLM2-135M-Instruct.Q4_1.gguf"] {
        std::os::unix::fs::symlink(cache.join(name), models.join(name)).unwrap();
    }
    std::fs::write(models.join("notes.gguf"), b"GGUF, but minutes of a meeting").unwrap();

    // The worker unlocks only in a hardened process, as in `main`.
    tacet_sandbox::danger_harden_allowing_exec();
    let mut h = window(&data, 2400.0);
    wait_until(&mut h, "the first-run walk", STEP_TIMEOUT, |u| {
        u.state.screen == Screen::Setup
    });
    assert!(!tacet_runtime::Vault::exists(&data));

    type_into(&mut h, "Admin passphrase", "larch quiet tundra forty");
    type_into(
        &mut h,
        "Repeat the admin passphrase",
        "larch quiet tundra forty",
    );
    type_into(&mut h, "Clinician user name", "drmira");
    type_into(&mut h, "Clinician passphrase", "otter violet canyon seven");
    type_into(
        &mut h,
        "Repeat the clinician passphrase",
        "otter violet canyon seven",
    );
    click(&mut h, "Create the vault");
    wait_until(
        &mut h,
        "the vault and the admin's sign-in",
        STEP_TIMEOUT,
        |u| u.state.setup.step == tacet_ui::state::SetupStep::Models && u.state.busy.is_none(),
    );
    assert!(tacet_runtime::Vault::exists(&data));
    let key = h.state().state.setup.verifier_key.clone().unwrap();
    assert!(!key.is_empty());

    type_into(
        &mut h,
        "Folder with the model files",
        &models.display().to_string(),
    );
    click(&mut h, "Import the models in this folder");
    wait_until(&mut h, "the folder import", Duration::from_secs(240), |u| {
        !u.state.setup.imported.is_empty() && u.state.busy.is_none()
    });
    let rows = h.state().state.setup.imported.clone();
    let outcome = |source: &str| {
        rows.iter()
            .find(|r| r.source == source)
            .map(|r| r.outcome.clone())
            .unwrap_or_else(|| panic!("{source} not in {rows:?}"))
    };
    assert_eq!(
        outcome("whisper-tiny.en-ct2"),
        Ok("whisper-tiny.en".to_string())
    );
    assert_eq!(
        outcome("SmolLM2-135M-Instruct.Q4_1.gguf"),
        Ok("smollm2-135m-instruct-q4_1".to_string())
    );
    let refused = outcome("notes.gguf").unwrap_err();
    assert!(refused.contains("notes.gguf"), "{refused}");
    assert!(!texts_containing(&h, "refused").is_empty());
    assert!(
        texts_containing(&h, "missing").is_empty(),
        "both roles installed: {:?}",
        texts_containing(&h, "missing")
    );
    let installed = tacet_desktop::compose::model_store(&data)
        .unwrap()
        .list()
        .unwrap();
    assert_eq!(installed.len(), 2, "{installed:?}");

    click(&mut h, "Next: audit anchor");
    type_into(
        &mut h,
        "Anchor folder (outside the data folder)",
        &anchor.display().to_string(),
    );
    click(&mut h, "Anchor the audit log here");
    wait_until(&mut h, "the anchor", STEP_TIMEOUT, |u| {
        u.state
            .admin
            .retention
            .as_ref()
            .is_some_and(|r| r.anchor_dir.is_some())
    });
    // The vault's own folder on the stick: the pinned key and a checkpoint.
    let on_stick: Vec<PathBuf> = std::fs::read_dir(&anchor)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(on_stick.len(), 1, "{on_stick:?}");
    let pinned = std::fs::read_to_string(on_stick[0].join("verifier.vkey")).unwrap();
    assert_eq!(
        pinned.trim(),
        key,
        "the key shown is the key pinned on the stick"
    );
    assert!(
        std::fs::read_dir(&on_stick[0]).unwrap().count() >= 2,
        "a checkpoint too"
    );

    click(&mut h, "Next: consent texts");
    wait_until(&mut h, "the consent texts", STEP_TIMEOUT, |u| {
        u.state.setup.consent.is_some()
    });
    let (clause, script) = h.state().state.setup.consent.clone().unwrap();
    assert!(clause.contains("Our practice"), "{clause}");
    assert!(script.contains("7 days"), "the vault's retention: {script}");

    click(&mut h, "Next: finish");
    assert!(!texts_containing(&h, &key).is_empty());
    click(&mut h, "Finish: sign in as drmira");
    wait_until(&mut h, "the sign-in screen", STEP_TIMEOUT, |u| {
        u.state.screen == Screen::Unlock && u.state.busy.is_none()
    });
    assert_eq!(h.state().state.unlock.user, "drmira");
    unlock(&mut h, ("drmira", "otter violet canyon seven"));
    wait_until(&mut h, "the clinician's session list", STEP_TIMEOUT, |u| {
        u.state.screen == Screen::Sessions && u.state.busy.is_none()
    });
}

/// A live transcriber that never commits anything: the recording below
/// "crashes" before it would have.
struct SilentLive;
impl tacet_core::ports::LiveTranscriber for SilentLive {
    fn push(
        &mut self,
        _samples_16k: &[f32],
    ) -> Result<tacet_core::ports::LiveUpdate, tacet_core::ports::EngineError> {
        Ok(tacet_core::ports::LiveUpdate::default())
    }
    fn finish(&mut self) -> Result<tacet_core::Transcript, tacet_core::ports::EngineError> {
        Ok(tacet_core::Transcript::default())
    }
}

/// A recording the app (or the computer) stopped mid-visit is finished from
/// the session list, without a terminal: the list says so, Open transcribes
/// what was sealed with the real whisper model, and the transcript and the
/// draft follow as after any recording (issue 23: the desktop and the CLI
/// finish a recording the same way).
#[test]
fn an_interrupted_recording_is_finished_from_the_session_list() {
    let wav = match inputs() {
        Ok(w) => w,
        Err(why) => {
            assert!(
                std::env::var_os("TACET_CI").is_none(),
                "the interrupted-recording flow needs the cached models in CI: {why}"
            );
            eprintln!("skipping the interrupted-recording flow: {why}");
            return;
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let vault_dir = dir.path().join("vault");
    tacet_sandbox::danger_harden_allowing_exec();
    demo::create(&vault_dir).unwrap();
    let clip = dir.path().join("visit-clip.wav");
    cut_clip(&wav, &clip, CLIP_START_S, CLIP_S);
    let samples = tacet_runtime::live::read_visit_audio(&clip)
        .unwrap()
        .samples_16k;
    // The recording: sealed half-second chunks, then the process dies
    // before stop (the recorder is dropped without its final chunk).
    let session = {
        let mut vault = tacet_runtime::Vault::open(&vault_dir).unwrap();
        let pass = tacet_runtime::Passphrase::new(demo::CLINICIAN.1.into());
        let mut store = vault.unlock(demo::CLINICIAN.0, &pass).unwrap();
        let session = tacet_core::ports::SessionStore::create_session(
            &mut store,
            "soap",
            &tacet_core::PatientRef::new(PATIENT_REF),
        )
        .unwrap();
        let mut live = SilentLive;
        let mut rec =
            tacet_app::recording::Recorder::start(&mut store, session, &mut live).unwrap();
        for chunk in samples.chunks(8_000) {
            rec.push(&chunk.to_vec().into()).unwrap();
        }
        drop(rec);
        session
    };

    let mut h = window(&vault_dir, 2000.0);
    unlock(&mut h, demo::CLINICIAN);
    wait_until(&mut h, "the session list", STEP_TIMEOUT, |u| {
        u.state.screen == Screen::Sessions && u.state.busy.is_none() && !u.state.sessions.is_empty()
    });
    // What the clinician reads: the list says a recording was cut short.
    let said = texts_containing(&h, "stopped before they were finished");
    assert!(!said.is_empty());
    assert!(
        said.iter().all(|t| t.starts_with("1 recording(s)")),
        "{said:?}"
    );
    assert_eq!(h.state().state.sessions[0].id, session);
    click(&mut h, "Open");
    wait_until(&mut h, "the recovered transcript", STEP_TIMEOUT * 3, |u| {
        u.state.work.transcript.is_some() || (u.state.busy.is_none() && u.state.error.is_some())
    });
    assert_eq!(h.state().state.error, None, "{}", where_now(&h));
    assert_eq!(h.state().state.work.session, Some(session));
    let heard = h
        .state()
        .state
        .work
        .transcript
        .as_ref()
        .map(|t| t.to_text().to_lowercase())
        .unwrap_or_default();
    assert!(
        TRANSCRIPT_WORDS.iter().any(|w| heard.contains(w)),
        "the sealed clip was transcribed: {heard:?}"
    );
    // Back in the list, the session has its transcript and nothing is left
    // to finish.
    wait_until(&mut h, "the draft or its end", DRAFT_TIMEOUT, |u| {
        u.state.busy.is_none()
    });
    click(&mut h, "Sessions");
    click(&mut h, "Refresh");
    wait_until(&mut h, "the refreshed list", STEP_TIMEOUT, |u| {
        u.state.busy.is_none()
            && u.state.sessions.iter().any(|s| {
                s.id == session
                    && !matches!(
                        s.state,
                        tacet_core::SessionState::Recording | tacet_core::SessionState::Interrupted
                    )
            })
    });
    assert!(texts_containing(&h, "stopped before they were finished").is_empty());
}
