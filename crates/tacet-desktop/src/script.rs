//! `--screenshot-dir DIR` (hidden): drives the real window through the
//! clinician's and the admin's flows on the demo vault, pausing at each
//! screen so an outside tool can capture it. At each stop the app writes
//! `DIR/NAME.ready`, then waits for `DIR/NAME.done` (or 20 s) before going
//! on; `scripts`-side, a loop runs `import -window root DIR/NAME.png` and
//! touches the `.done` file. It only sends the same [`UiCommand`]s a person's
//! clicks would.

use std::path::PathBuf;
use std::time::{Duration, Instant};
use tacet_ui::state::{SectionStatus, SetupStep};
use tacet_ui::{Screen, TacetUi, UiCommand};

type Cond = Box<dyn Fn(&TacetUi) -> bool>;
type Act = Box<dyn Fn(&mut TacetUi)>;

enum Step {
    Wait(Cond),
    Do(Act),
    Shot(&'static str),
    /// A shot only when the condition holds (else the step is passed).
    ShotIf(Cond, &'static str),
    Quit,
}

pub struct Script {
    dir: PathBuf,
    steps: Vec<Step>,
    at: usize,
    step_started: Instant,
    ready_written: bool,
}

fn on(screen: Screen) -> Cond {
    Box::new(move |u: &TacetUi| u.state.screen == screen && u.state.busy.is_none())
}

fn cmd(c: UiCommand) -> Step {
    Step::Do(Box::new(move |u: &mut TacetUi| u.handle(c.clone())))
}

/// The first-run script's clinician, and the patient reference of the
/// visit it records: words that must never reach the support log.
const FIRST_CLINICIAN: (&str, &str) = ("drmira", "otter violet canyon seven");
const FIRST_ADMIN_PASSPHRASE: &str = "larch quiet tundra forty";
const FIRST_PATIENT: &str = "practice-patient-4417";

/// A first visit after the first run (`--first-run-screenshot-dir` with
/// `$TACET_SCRIPT_RECORDING` and `$TACET_SCRIPT_EXPORT`): the recording on
/// file to open, and the new file the attested note is saved to.
pub struct FirstVisit {
    pub recording: String,
    pub export: String,
}

/// Every section accepted, each open flag kept with a reason, the box
/// ticked and the passphrase typed: what a clinician does before Attest.
fn ready_to_attest(u: &mut TacetUi, passphrase: &str) {
    let open: Vec<usize> = (0..u.state.work.sections.len())
        .filter(|&i| u.state.work.sections[i].status == SectionStatus::NeedsReview)
        .collect();
    for i in open {
        u.handle(UiCommand::AcceptSection(i));
    }
    // Keep the flagged sentences as written, with a reason.
    let flagged = u.state.work.open_flag_sentences();
    for (i, open) in flagged.into_iter().enumerate() {
        if let (true, Some(a)) = (open, u.state.work.acceptances.get_mut(i)) {
            a.accepted = true;
            a.reason = "Checked against the recording".into();
        }
    }
    u.state.work.attest_checked = true;
    u.state.work.attest_passphrase = passphrase.into();
}

/// The first clinician's first visit: sign in, a new session with consent,
/// the recording on file typed in, transcribed and drafted, reviewed,
/// attested, saved as text; the session destroyed with its receipt.
fn first_visit(visit: FirstVisit) -> Vec<Step> {
    let FirstVisit { recording, export } = visit;
    vec![
        Step::Do(Box::new(|u| {
            u.state.unlock.user = FIRST_CLINICIAN.0.into();
            u.state.unlock.passphrase = FIRST_CLINICIAN.1.into();
            u.handle(UiCommand::Unlock);
        })),
        Step::Wait(on(Screen::Sessions)),
        cmd(UiCommand::StartNewSession),
        Step::Do(Box::new(|u| {
            u.state.new_session.patient_ref = FIRST_PATIENT.into()
        })),
        cmd(UiCommand::Consent(true)),
        Step::Wait(on(Screen::Record)),
        // The recording on file, chosen in the window's own picker (it
        // opens on the file already chosen).
        Step::Do(Box::new(move |u| {
            u.state.new_session.wav_path = recording.clone()
        })),
        cmd(UiCommand::Browse(tacet_ui::picker::PathField::Recording)),
        Step::Shot("visit-1-choose-the-recording"),
        Step::Do(Box::new(|u| u.close_picker())),
        cmd(UiCommand::Transcribe),
        Step::Wait(Box::new(|u| {
            (u.state.screen == Screen::Review
                && (u.state.work.grounding.is_some() || u.state.error.is_some()))
                || (u.state.error.is_some() && u.state.busy.is_none())
        })),
        Step::Shot("visit-2-review"),
        Step::Do(Box::new(|u| ready_to_attest(u, FIRST_CLINICIAN.1))),
        cmd(UiCommand::Attest),
        Step::Wait(on(Screen::Export)),
        Step::Do(Box::new(move |u| u.state.work.save_path = export.clone())),
        cmd(UiCommand::SaveAs(tacet_core::ExportFormat::Text)),
        Step::Wait(Box::new(|u| {
            (u.state.work.receipt.is_some() || u.state.error.is_some()) && u.state.busy.is_none()
        })),
        Step::Shot("visit-3-saved-and-destroyed"),
    ]
}

impl Script {
    pub fn new(
        dir: PathBuf,
        clinician: (&'static str, &'static str),
        admin: (&'static str, &'static str),
    ) -> Self {
        let mut steps = vec![
            Step::Wait(on(Screen::Unlock)),
            Step::Do(Box::new(move |u| {
                u.state.unlock.user = clinician.0.into();
                u.state.unlock.passphrase = clinician.1.into();
            })),
            Step::Shot("01-unlock"),
            cmd(UiCommand::Unlock),
            Step::Wait(on(Screen::Sessions)),
            cmd(UiCommand::StartNewSession),
            Step::Do(Box::new(|u| {
                u.state.new_session.patient_ref = "demo-patient-0001".into()
            })),
            cmd(UiCommand::Consent(false)),
            Step::Wait(Box::new(|u| u.state.new_session.consent == Some(false))),
            Step::Shot("02-consent-declined"),
            cmd(UiCommand::StartNewSession),
            Step::Do(Box::new(|u| {
                u.state.new_session.patient_ref = "demo-patient-0001".into()
            })),
            Step::Shot("03-new-session-consent"),
            cmd(UiCommand::Consent(true)),
            Step::Wait(on(Screen::Record)),
            Step::Shot("04-record"),
            // The recording on file, chosen in the window's own picker.
            cmd(UiCommand::Browse(tacet_ui::picker::PathField::Recording)),
            Step::Shot("04a-record-choose-a-recording"),
            Step::Do(Box::new(|u| u.close_picker())),
        ];
        // With TACET_SCRIPT_LIVE set (scripts/screenshots.sh sets it when it
        // could start a PulseAudio null sink playing the demo visit), the
        // session is recorded live; otherwise the demo WAV is transcribed.
        if std::env::var_os("TACET_SCRIPT_LIVE").is_some() {
            steps.extend([
                cmd(UiCommand::StartRecording),
                // 45 s: long enough for two reads of the transcript into
                // the drafter while recording (every 20 s).
                Step::Wait(Box::new(|u| {
                    let live = &u.state.live;
                    live.elapsed_ms > 45_000
                        && (!live.committed.is_empty() || live.elapsed_ms > 90_000)
                })),
                Step::Shot("04b-record-live"),
                cmd(UiCommand::PauseRecording),
                Step::Shot("04c-record-paused"),
                cmd(UiCommand::StopRecording),
            ]);
        } else {
            steps.push(cmd(UiCommand::Transcribe));
        }
        steps.extend([
            // A draft composed from the visit's facts goes straight to
            // review; a model's rewording streams first.
            Step::Wait(Box::new(|u| {
                (u.state.screen == Screen::Draft && u.state.work.live_draft.len() > 40)
                    || u.state.screen == Screen::Review
            })),
            Step::ShotIf(
                Box::new(|u| u.state.screen == Screen::Draft),
                "05-draft-streaming",
            ),
            Step::Wait(on(Screen::Review)),
            Step::Wait(Box::new(|u| {
                u.state.work.grounding.is_some() || u.state.error.is_some()
            })),
            cmd(UiCommand::AcceptSection(0)),
            cmd(UiCommand::EditSection(1)),
            Step::Do(Box::new(|u| {
                if let Some(s) = u.state.work.sections.get_mut(1) {
                    s.text.push_str(" (checked with the patient)");
                }
            })),
            cmd(UiCommand::NextAttention),
            // Select a sentence so the transcript shows its evidence.
            Step::Do(Box::new(|u| {
                let work = &u.state.work;
                let heading = work
                    .focused
                    .and_then(|i| work.sections.get(i))
                    .map(|s| s.heading.clone());
                // Flagged with evidence to show, best; then flagged; then any
                // sentence with evidence.
                let pick = work.grounding.as_ref().and_then(|g| {
                    let flagged = |s: &tacet_ui::SentenceView| !s.flags.is_empty();
                    let linked = |s: &tacet_ui::SentenceView| !s.evidence.is_empty();
                    let here = |s: &tacet_ui::SentenceView| Some(&s.section) == heading.as_ref();
                    let find = |f: &dyn Fn(&tacet_ui::SentenceView) -> bool| {
                        g.sentences.iter().position(f)
                    };
                    find(&|s| flagged(s) && linked(s) && here(s))
                        .or_else(|| find(&|s| flagged(s) && linked(s)))
                        .or_else(|| find(&|s| flagged(s) && here(s)))
                        .or_else(|| find(&linked))
                });
                u.handle(UiCommand::SelectSentence(pick.unwrap_or(0)));
            })),
            Step::Shot("06-review"),
            // The list while this session waits for review: "Open" brings
            // it back, and its owner may share it with a colleague.
            Step::Do(Box::new(|u| {
                u.state.screen = Screen::Sessions;
                u.handle(UiCommand::RefreshSessions);
            })),
            Step::Wait(Box::new(|u| {
                u.state.sessions.iter().any(|s| {
                    matches!(
                        s.state,
                        tacet_core::SessionState::Transcribed | tacet_core::SessionState::Drafted
                    )
                })
            })),
            Step::Shot("10a-sessions-open-and-share"),
            Step::Do(Box::new(|u| u.state.screen = Screen::Review)),
            cmd(UiCommand::FinishEdit(1)),
            Step::Do(Box::new(move |u| ready_to_attest(u, clinician.1))),
            Step::Shot("07-review-ready-to-attest"),
            cmd(UiCommand::Attest),
            Step::Wait(on(Screen::Export)),
            Step::Shot("08-export"),
            cmd(UiCommand::CopyNote),
            Step::Wait(Box::new(|u| {
                u.state.work.receipt.is_some() && u.state.busy.is_none()
            })),
            Step::Shot("09-destroyed-with-receipt"),
            cmd(UiCommand::FinishSession),
            Step::Wait(Box::new(|u| {
                u.state.screen == Screen::Sessions && !u.state.sessions.is_empty()
            })),
            Step::Shot("10-sessions"),
            cmd(UiCommand::Lock),
            Step::Wait(on(Screen::Unlock)),
            Step::Do(Box::new(move |u| {
                u.state.unlock.user = admin.0.into();
                u.state.unlock.passphrase = admin.1.into();
                u.handle(UiCommand::Unlock);
            })),
            Step::Wait(Box::new(|u| {
                u.state.screen == Screen::Admin
                    && u.state.admin.models.is_some()
                    && u.state.admin.deletions.is_some()
            })),
            cmd(UiCommand::VerifyAudit),
            cmd(UiCommand::LoadCheckpoint),
            Step::Wait(Box::new(|u| {
                u.state.admin.verification.is_some()
                    && u.state.admin.checkpoint.is_some()
                    && u.state.busy.is_none()
            })),
            Step::Shot("11-admin"),
            cmd(UiCommand::ToggleTheme),
            Step::Shot("12-admin-light"),
            cmd(UiCommand::ToggleTheme),
            cmd(UiCommand::ComplianceReport),
            Step::Wait(Box::new(|u| {
                (u.state.admin.report.is_some() || u.state.error.is_some())
                    && u.state.busy.is_none()
            })),
            Step::Shot("admin-compliance"),
            Step::Quit,
        ]);
        Self {
            dir,
            steps,
            at: 0,
            step_started: Instant::now(),
            ready_written: false,
        }
    }

    /// The first-run walk on an empty data folder: the accounts, the models
    /// imported from `models` (a folder), the audit log anchored in
    /// `anchor`, the consent texts, the summary, and the sign-in it hands
    /// over to. Passphrases show as dots. With a `visit`, the new clinician
    /// then signs in and takes a recording on file through to a saved note.
    pub fn first_run(
        dir: PathBuf,
        models: String,
        anchor: String,
        visit: Option<FirstVisit>,
    ) -> Self {
        let mut steps = vec![
            Step::Wait(on(Screen::Setup)),
            Step::Do(Box::new(|u| {
                let s = &mut u.state.setup;
                s.admin_passphrase = FIRST_ADMIN_PASSPHRASE.into();
                s.admin_confirm = s.admin_passphrase.clone();
                s.clinician = FIRST_CLINICIAN.0.into();
                s.clinician_passphrase = FIRST_CLINICIAN.1.into();
                s.clinician_confirm = s.clinician_passphrase.clone();
            })),
            Step::Shot("setup-1-accounts"),
            cmd(UiCommand::CreateVault),
            Step::Wait(Box::new(|u| {
                u.state.setup.step == SetupStep::Models && u.state.busy.is_none()
            })),
            Step::Do(Box::new(move |u| {
                u.state.setup.models_folder = models.clone()
            })),
            cmd(UiCommand::ImportModelsFolder),
            Step::Wait(Box::new(|u| {
                (!u.state.setup.imported.is_empty() || u.state.error.is_some())
                    && u.state.busy.is_none()
            })),
            Step::Shot("setup-2-models"),
            cmd(UiCommand::SetupGoTo(SetupStep::Anchor)),
            Step::Do(Box::new(move |u| {
                u.state.admin.anchor_input = anchor.clone()
            })),
            cmd(UiCommand::SaveAnchor),
            Step::Wait(Box::new(|u| {
                (u.state
                    .admin
                    .retention
                    .as_ref()
                    .is_some_and(|r| r.anchor_dir.is_some())
                    || u.state.error.is_some())
                    && u.state.busy.is_none()
            })),
            Step::Shot("setup-3-anchor"),
            cmd(UiCommand::SetupGoTo(SetupStep::Consent)),
            Step::Wait(Box::new(|u| u.state.setup.consent.is_some())),
            Step::Shot("setup-4-consent"),
            cmd(UiCommand::SetupGoTo(SetupStep::Done)),
            Step::Shot("setup-5-ready"),
            cmd(UiCommand::FinishSetup),
            Step::Wait(on(Screen::Unlock)),
            Step::Shot("setup-6-sign-in"),
        ];
        if let Some(visit) = visit {
            steps.extend(first_visit(visit));
        }
        steps.push(Step::Quit);
        Self {
            dir,
            steps,
            at: 0,
            step_started: Instant::now(),
            ready_written: false,
        }
    }

    fn next(&mut self) {
        self.at += 1;
        self.step_started = Instant::now();
        self.ready_written = false;
    }

    /// Advances the script as far as it can this frame.
    pub fn tick(&mut self, ui: &mut TacetUi, ctx: &eframe::egui::Context) {
        ctx.request_repaint_after(Duration::from_millis(100));
        // The script stands in for a person at the keyboard: transcribing
        // and drafting on a loaded machine must not trip the auto-lock.
        ui.note_activity();
        loop {
            let Some(step) = self.steps.get(self.at) else {
                return;
            };
            match step {
                Step::Wait(cond) => {
                    if !cond(ui) {
                        return;
                    }
                    self.next();
                }
                Step::Do(act) => {
                    act(ui);
                    self.next();
                }
                Step::ShotIf(cond, _) if !cond(ui) => self.next(),
                Step::Shot(name) | Step::ShotIf(_, name) => {
                    // Let the screen settle and render before it is captured.
                    if self.step_started.elapsed() < Duration::from_millis(1200) {
                        return;
                    }
                    if !self.ready_written {
                        let _ = std::fs::write(self.dir.join(format!("{name}.ready")), b"");
                        self.ready_written = true;
                    }
                    let done = self.dir.join(format!("{name}.done")).exists();
                    if !done && self.step_started.elapsed() < Duration::from_secs(20) {
                        return;
                    }
                    self.next();
                }
                Step::Quit => {
                    ctx.send_viewport_cmd(eframe::egui::ViewportCommand::Close);
                    return;
                }
            }
        }
    }
}
