//! [`TacetUi`]: the one place that turns [`UiCommand`]s into view-state
//! changes and backend [`Request`]s, and backend [`Event`]s into view state.
//!
//! Each frame: note input (for auto-lock), drain the backend's events, read
//! the keyboard shortcuts, draw the current screen (which collects
//! commands), handle the commands, then do the clipboard work. Nothing here
//! waits: while work is in flight the frame asks for another repaint, so
//! progress and streamed tokens appear as they arrive.

use crate::backend::{wipe, Backend, Event, ExportTarget, Op, Request, Secret};
use crate::screens;
use crate::state::{
    setup_accounts_problem, AttestedView, Busy, ComplianceView, LivePhase, LiveView, Screen,
    SectionReview, SectionStatus, SetupStep, SetupView, SignedIn, UiCommand, ViewState, Work,
    MIN_REASON_CHARS,
};
use crate::tokens::{ThemeKind, Tokens};
use egui::{Key, Modifiers};
use tacet_core::draft::render_sections;
use tacet_core::{Draft, Role};

/// What to do with the clipboard once an export is confirmed.
#[derive(Clone, Debug, PartialEq, Eq)]
enum PendingExport {
    Note,
    Section(usize),
    /// A file being saved (the target names the format and the path).
    File(ExportTarget),
}

/// The desktop UI: view state, a backend, and the bookkeeping between them.
pub struct TacetUi {
    pub state: ViewState,
    backend: Box<dyn Backend>,
    now_s: f64,
    last_activity_s: f64,
    applied_theme: Option<ThemeKind>,
    to_copy: Option<String>,
    clipboard_clear_at_s: Option<f64>,
    pending_export: Option<PendingExport>,
    pending_attest: Option<Vec<(String, String)>>,
    scroll_to_focus: bool,
    /// First run: the new admin's passphrase, held from the vault's
    /// creation until the walk signs the admin in (then dropped, wiped).
    setup_passphrase: Option<Secret>,
    /// The in-window file or folder picker, while one is open.
    picker: Option<crate::picker::Picker>,
}

impl TacetUi {
    pub fn new(backend: Box<dyn Backend>) -> Self {
        Self {
            state: ViewState::default(),
            backend,
            now_s: 0.0,
            last_activity_s: 0.0,
            applied_theme: None,
            to_copy: None,
            clipboard_clear_at_s: None,
            pending_export: None,
            pending_attest: None,
            scroll_to_focus: false,
            setup_passphrase: None,
            picker: None,
        }
    }

    /// Counts as input for the auto-lock (a scripted demo driving the
    /// window without a keyboard calls it each frame).
    pub fn note_activity(&mut self) {
        self.last_activity_s = self.now_s;
    }

    /// The tokens of the active theme.
    pub fn tokens(&self) -> Tokens {
        Tokens::for_kind(self.state.settings.theme)
    }

    /// Draws one frame. Call it from `eframe::App::ui` (or a test harness).
    /// A recording dropped on the window becomes the file to transcribe
    /// (on the Record screen, where its path field shows it); anything
    /// else dropped is ignored with a word.
    fn take_dropped_file(&mut self, ctx: &egui::Context) {
        let dropped = ctx.input(|i| i.raw.dropped_files.clone());
        let Some(path) = dropped.first().map(|f| f.path().to_path_buf()) else {
            return;
        };
        let st = &mut self.state;
        if st.live.is_active() || st.busy.is_some() {
            st.error = Some("Finish what is running before dropping a recording.".into());
            return;
        }
        st.new_session.wav_path = path.display().to_string();
        st.notice = Some(RECORDING_CHOSEN.into());
    }

    pub fn ui(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        self.now_s = ctx.input(|i| i.time);
        if ctx.input(|i| !i.events.is_empty()) || self.last_activity_s == 0.0 {
            self.last_activity_s = self.now_s;
        }
        while let Some(ev) = self.backend.try_recv() {
            self.apply(ev);
        }
        self.auto_lock();
        if self.applied_theme != Some(self.state.settings.theme) {
            self.tokens().apply(&ctx);
            self.applied_theme = Some(self.state.settings.theme);
        }
        self.take_dropped_file(&ctx);
        let tokens = self.tokens();
        let mut commands = self.shortcuts(&ctx);
        screens::frame(
            ui,
            &mut self.state,
            &tokens,
            self.now_s,
            &mut self.scroll_to_focus,
            &mut commands,
        );
        for cmd in commands {
            self.handle(cmd);
        }
        self.show_picker(&ctx);
        self.clipboard(&ctx);
        if self.state.busy.is_some() {
            ctx.request_repaint();
        } else if self.state.live.is_active() {
            // The live clock and meter; events also wake the window.
            ctx.request_repaint_after(std::time::Duration::from_millis(100));
        } else if self.state.signed_in.is_some() || self.clipboard_clear_at_s.is_some() {
            // Keep the auto-lock and clipboard timers ticking without input.
            ctx.request_repaint_after(std::time::Duration::from_secs(1));
        }
    }

    fn shortcuts(&self, ctx: &egui::Context) -> Vec<UiCommand> {
        let mut out = Vec::new();
        let typing = ctx.egui_wants_keyboard_input();
        ctx.input_mut(|i| match self.state.screen {
            Screen::Record => {
                // Live recording first: Ctrl+R alone would also match Ctrl+Shift+R.
                let live = Modifiers::COMMAND | Modifiers::SHIFT;
                let phase = self.state.live.phase;
                let held = matches!(phase, LivePhase::Paused | LivePhase::DeviceLost);
                if i.consume_key(live, Key::R) {
                    out.push(if held {
                        UiCommand::ResumeRecording
                    } else {
                        UiCommand::StartRecording
                    });
                } else if i.consume_key(live, Key::P) {
                    out.push(if held {
                        UiCommand::ResumeRecording
                    } else {
                        UiCommand::PauseRecording
                    });
                } else if i.consume_key(live, Key::S) {
                    out.push(UiCommand::StopRecording);
                } else if i.consume_key(Modifiers::COMMAND, Key::R) {
                    out.push(UiCommand::Transcribe);
                }
            }
            Screen::Review => {
                if i.consume_key(Modifiers::COMMAND, Key::Enter) {
                    out.push(UiCommand::Attest);
                } else if !typing && i.consume_key(Modifiers::SHIFT, Key::F) {
                    out.push(UiCommand::PreviousAttention);
                } else if !typing && i.consume_key(Modifiers::NONE, Key::F) {
                    out.push(UiCommand::NextAttention);
                }
            }
            _ => {}
        });
        out
    }

    fn auto_lock(&mut self) {
        let minutes = self.state.settings.auto_lock_minutes;
        // A visit being recorded is not inactivity (a paused one is).
        let recording = matches!(
            self.state.live.phase,
            LivePhase::Starting | LivePhase::Recording | LivePhase::Stopping
        );
        if self.state.signed_in.is_some()
            && !recording
            && should_auto_lock(self.now_s, self.last_activity_s, minutes)
        {
            self.lock(Some(format!(
                "Locked after {minutes} minute(s) without activity."
            )));
        }
    }

    fn clipboard(&mut self, ctx: &egui::Context) {
        if let Some(text) = self.to_copy.take() {
            ctx.copy_text(text);
            let clear_s = self.state.settings.clipboard_clear_s;
            self.clipboard_clear_at_s = (clear_s > 0).then(|| self.now_s + f64::from(clear_s));
        }
        if let Some(at) = self.clipboard_clear_at_s {
            if self.now_s >= at {
                ctx.copy_text(String::new());
                self.clipboard_clear_at_s = None;
                self.state.notice = Some("The clipboard was cleared.".into());
            }
        }
    }

    fn send(&mut self, req: Request, busy: Option<&str>) {
        match self.backend.send(req) {
            Ok(()) => {
                if let Some(label) = busy {
                    self.state.busy = Some(Busy {
                        label: label.to_string(),
                        started_s: self.now_s,
                    });
                }
            }
            Err(e) => self.state.error = Some(e.to_string()),
        }
    }

    /// Forgets everything a signed-in user could see and returns to Unlock.
    /// Draws the open picker, if any; a chosen path goes into its field,
    /// exactly as if it had been typed.
    fn show_picker(&mut self, ctx: &egui::Context) {
        use crate::picker::{PathField, Picked};
        let Some(picker) = self.picker.as_mut() else {
            return;
        };
        match picker.show(ctx) {
            Picked::Open => {}
            Picked::Closed => self.picker = None,
            Picked::Chosen(field, path) => {
                self.picker = None;
                *path_field_mut(&mut self.state, field) = path.display().to_string();
                if field == PathField::Recording {
                    self.state.notice = Some(RECORDING_CHOSEN.into());
                }
            }
        }
    }

    /// Closes the picker without choosing (what Cancel or Escape does).
    pub fn close_picker(&mut self) {
        self.picker = None;
    }

    fn lock(&mut self, why: Option<String>) {
        self.picker = None;
        self.backend.cancel_draft();
        let mut work = std::mem::take(&mut self.state.work);
        wipe(&mut work.attest_passphrase);
        wipe(&mut self.state.admin.new_user.passphrase);
        wipe(&mut self.state.admin.new_user.confirm);
        wipe(&mut self.state.admin.passwd.current);
        wipe(&mut self.state.admin.passwd.new);
        wipe(&mut self.state.admin.passwd.confirm);
        for f in [
            &mut self.state.setup.admin_passphrase,
            &mut self.state.setup.admin_confirm,
            &mut self.state.setup.clinician_passphrase,
            &mut self.state.setup.clinician_confirm,
        ] {
            wipe(f);
        }
        self.setup_passphrase = None;
        let settings = self.state.settings.clone();
        let user = self
            .state
            .signed_in
            .take()
            .map(|s| s.user)
            .unwrap_or_default();
        wipe(&mut self.state.unlock.passphrase);
        self.state = ViewState {
            settings,
            notice: why,
            ..ViewState::default()
        };
        self.state.unlock.user = user;
        self.pending_export = None;
        self.pending_attest = None;
        self.send(Request::Lock, None);
    }

    /// Handles one command from a screen or a shortcut.
    pub fn handle(&mut self, cmd: UiCommand) {
        let st = &mut self.state;
        match cmd {
            cmd @ (UiCommand::CreateVault
            | UiCommand::ImportModelsFolder
            | UiCommand::LoadConsentTexts
            | UiCommand::SetupGoTo(_)
            | UiCommand::FinishSetup) => self.handle_setup(cmd),
            UiCommand::Unlock => {
                if st.unlock.user.trim().is_empty() || st.unlock.passphrase.is_empty() {
                    st.error = Some("Enter your user name and passphrase.".into());
                    return;
                }
                st.error = None;
                let user = st.unlock.user.trim().to_string();
                let pass = Secret::new(std::mem::take(&mut st.unlock.passphrase));
                self.send(
                    Request::Unlock {
                        user,
                        passphrase: pass,
                    },
                    Some("Unlocking…"),
                );
            }
            UiCommand::Lock => self.lock(None),
            UiCommand::ToggleTheme => st.settings.theme = st.settings.theme.toggled(),
            UiCommand::DismissMessage => {
                st.error = None;
                st.notice = None;
            }
            UiCommand::RefreshSessions => self.send(Request::ListSessions, None),
            UiCommand::Browse(field) => {
                let mut current = path_field_mut(st, field).clone();
                if field == crate::picker::PathField::SaveNote
                    && current.trim().is_empty()
                    && !st.settings.export_dir.is_empty()
                {
                    // A note is saved in the export folder: start there.
                    current = format!("{}/", st.settings.export_dir.trim_end_matches('/'));
                }
                self.picker = Some(crate::picker::Picker::open(field, &current));
            }
            UiCommand::OpenSession(session) => {
                if st.live.is_active() {
                    st.error = Some("A recording is running: stop it first.".into());
                    return;
                }
                if st.busy.is_some() {
                    return;
                }
                st.error = None;
                st.notice = None;
                st.work = Default::default();
                st.work.template_id = st
                    .sessions
                    .iter()
                    .find(|s| s.id == session)
                    .map(|s| s.template_id.clone())
                    .unwrap_or_default();
                self.send(
                    Request::OpenSession { session },
                    Some("Opening the session…"),
                );
            }
            UiCommand::ShareSession(stop) => {
                if st.busy.is_some() {
                    return;
                }
                let with = st.share.with.trim().to_string();
                let Some(session) = st.share.session else {
                    st.error = Some("Choose the session to share.".into());
                    return;
                };
                if with.is_empty() {
                    st.error = Some("Enter the colleague's user name.".into());
                    return;
                }
                st.error = None;
                st.notice = None;
                self.send(
                    Request::ShareSession {
                        session,
                        with,
                        stop,
                    },
                    Some(if stop { "Stopping…" } else { "Sharing…" }),
                );
            }
            cmd @ (UiCommand::StartNewSession
            | UiCommand::Consent(_)
            | UiCommand::Transcribe
            | UiCommand::StartRecording
            | UiCommand::PauseRecording
            | UiCommand::ResumeRecording
            | UiCommand::StopRecording
            | UiCommand::RefreshDevices
            | UiCommand::StartDraft
            | UiCommand::CancelDraft) => self.handle_recording(cmd),
            cmd @ (UiCommand::SelectSentence(_)
            | UiCommand::AcceptSection(_)
            | UiCommand::EditSection(_)
            | UiCommand::FinishEdit(_)
            | UiCommand::NextAttention
            | UiCommand::PreviousAttention
            | UiCommand::Attest) => self.handle_review(cmd),
            UiCommand::CopyNote | UiCommand::CopySection(_) | UiCommand::SaveAs(_) => {
                self.export(cmd)
            }
            UiCommand::FinishSession => {
                st.work = Work::default();
                st.new_session = Default::default();
                st.screen = Screen::Sessions;
                st.notice = None;
                self.send(Request::ListSessions, None);
            }
            cmd @ (UiCommand::VerifyAudit
            | UiCommand::LoadCheckpoint
            | UiCommand::SaveCheckpoint
            | UiCommand::CopyCheckpoint
            | UiCommand::LoadDeletions
            | UiCommand::LoadModels
            | UiCommand::ComplianceReport
            | UiCommand::SaveReport(_)
            | UiCommand::SaveSupportLog
            | UiCommand::LoadRetention
            | UiCommand::SaveRetention
            | UiCommand::SaveAnchor
            | UiCommand::VerifyModel(_)
            | UiCommand::ImportModel
            | UiCommand::LoadUsers
            | UiCommand::RemoveUser(_)
            | UiCommand::ChangePassphrase
            | UiCommand::AddUser) => self.handle_admin(cmd),
        }
    }

    /// A new session's commands (from `handle`): consent, a recording
    /// from the microphone or a file, and the draft.
    fn handle_recording(&mut self, cmd: UiCommand) {
        let st = &mut self.state;
        match cmd {
            UiCommand::StartNewSession => {
                if st.live.is_active() {
                    st.error = Some("A recording is running: stop it first.".into());
                    return;
                }
                st.new_session = Default::default();
                st.new_session.template_id = st
                    .templates
                    .first()
                    .map(|t| t.id.clone())
                    .unwrap_or_default();
                st.new_session.wav_path = st.settings.default_wav_path.clone();
                st.work = Work::default();
                st.screen = Screen::NewSession;
                st.error = None;
                st.notice = None;
            }
            UiCommand::Consent(given) => {
                if st.new_session.template_id.is_empty() {
                    st.error = Some("Choose a template first.".into());
                    return;
                }
                if st.new_session.patient_ref.trim().is_empty() {
                    st.error = Some(
                        "Enter the patient reference first (a chart number or initials).".into(),
                    );
                    return;
                }
                st.error = None;
                let template_id = st.new_session.template_id.clone();
                self.send(
                    Request::RecordConsent { template_id, given },
                    Some("Recording the patient's answer…"),
                );
            }
            UiCommand::Transcribe => {
                if st.new_session.consent != Some(true) {
                    st.error = Some(
                        "There is no consent for this session, so nothing can be recorded.".into(),
                    );
                    return;
                }
                if st.busy.is_some() || st.live.is_active() {
                    return;
                }
                if st.new_session.wav_path.trim().is_empty() {
                    st.error = Some(
                        "Enter the path of a recording to transcribe, or drop the file on the window."
                            .into(),
                    );
                    return;
                }
                st.error = None;
                st.work.template_id = st.new_session.template_id.clone();
                let req = Request::TranscribeWav {
                    template_id: st.new_session.template_id.clone(),
                    patient_ref: st.new_session.patient_ref.trim().to_string(),
                    wav_path: st.new_session.wav_path.trim().to_string(),
                };
                self.send(req, Some("Transcribing the recording…"));
            }
            UiCommand::StartRecording => {
                if st.new_session.consent != Some(true) {
                    st.error = Some(
                        "There is no consent for this session, so nothing can be recorded.".into(),
                    );
                    return;
                }
                if st.busy.is_some() || st.live.is_active() {
                    return;
                }
                st.error = None;
                st.work.template_id = st.new_session.template_id.clone();
                reset_live(&mut st.live);
                st.live.phase = LivePhase::Starting;
                let req = Request::StartRecording {
                    template_id: st.new_session.template_id.clone(),
                    patient_ref: st.new_session.patient_ref.trim().to_string(),
                    device: st.live.selected.clone(),
                };
                self.send(req, None);
                if self.state.error.is_some() {
                    self.state.live.phase = LivePhase::Idle;
                }
            }
            UiCommand::PauseRecording if st.live.phase == LivePhase::Recording => {
                self.send(Request::PauseRecording, None);
            }
            UiCommand::ResumeRecording => {
                if matches!(st.live.phase, LivePhase::Paused | LivePhase::DeviceLost) {
                    let device = st.live.selected.clone();
                    self.send(Request::ResumeRecording { device }, None);
                }
            }
            UiCommand::StopRecording => {
                if matches!(
                    st.live.phase,
                    LivePhase::Recording | LivePhase::Paused | LivePhase::DeviceLost
                ) {
                    st.live.phase = LivePhase::Stopping;
                    self.send(Request::StopRecording, Some("Finishing the transcript…"));
                }
            }
            UiCommand::RefreshDevices => self.send(Request::ListInputDevices, None),
            UiCommand::StartDraft => {
                let Some(session) = st.work.session else {
                    return;
                };
                if st.busy.is_some() {
                    return;
                }
                st.work.live_draft.clear();
                st.work.grounding = None;
                st.work.acceptances.clear();
                st.work.selected_sentence = None;
                st.error = None;
                self.send(
                    Request::Draft { session },
                    Some("Loading the drafting model…"),
                );
            }
            UiCommand::CancelDraft => {
                self.backend.cancel_draft();
                if let Some(b) = &mut self.state.busy {
                    b.label = "Cancelling…".into();
                }
            }
            // The others are `handle`'s.
            _ => {}
        }
    }

    /// The review's commands (from `handle`): evidence, sections accepted
    /// or edited, attention moved, and the attestation.
    fn handle_review(&mut self, cmd: UiCommand) {
        let st = &mut self.state;
        match cmd {
            UiCommand::SelectSentence(i) => {
                let exists = st
                    .work
                    .grounding
                    .as_ref()
                    .is_some_and(|g| i < g.sentences.len());
                if exists {
                    st.work.selected_sentence = Some(i);
                    st.work.scroll_to_evidence = true;
                }
            }
            UiCommand::AcceptSection(i) => {
                if let Some(s) = st.work.sections.get_mut(i) {
                    s.status = if s.text == s.drafted {
                        SectionStatus::Accepted
                    } else {
                        SectionStatus::Edited
                    };
                    st.work.attest_refusal = None;
                }
            }
            UiCommand::EditSection(i) => {
                if let Some(s) = st.work.sections.get_mut(i) {
                    s.status = SectionStatus::Editing;
                    st.work.focused = Some(i);
                }
            }
            UiCommand::FinishEdit(i) => {
                if let Some(s) = st.work.sections.get_mut(i) {
                    s.status = if s.text == s.drafted {
                        SectionStatus::Accepted
                    } else {
                        SectionStatus::Edited
                    };
                    st.work.attest_refusal = None;
                }
            }
            UiCommand::NextAttention | UiCommand::PreviousAttention => {
                let forward = cmd == UiCommand::NextAttention;
                let needs = st.work.needs_attention();
                if let Some(i) = next_attention(&needs, st.work.focused, forward) {
                    st.work.focused = Some(i);
                    self.scroll_to_focus = true;
                }
            }
            UiCommand::Attest => {
                let Some(session) = st.work.session else {
                    return;
                };
                if let Some(reason) = attest_blocker(&st.work) {
                    st.work.attest_refusal = Some(reason);
                    return;
                }
                if st.busy.is_some() {
                    return;
                }
                st.work.attest_refusal = None;
                let sections: Vec<(String, String)> = st
                    .work
                    .sections
                    .iter()
                    .map(|s| (s.heading.clone(), s.text.trim().to_string()))
                    .collect();
                let text = render_sections(sections.iter().map(|(h, t)| (h.as_str(), t.as_str())));
                let accept_flags = st.work.accept_flags_reason();
                let confirm_empty = st.work.confirm_empty && st.work.is_empty_note();
                let passphrase = Secret::new(std::mem::take(&mut st.work.attest_passphrase));
                self.pending_attest = Some(sections);
                self.send(
                    Request::Attest {
                        session,
                        text,
                        passphrase,
                        accept_flags,
                        confirm_empty,
                    },
                    Some("Checking your passphrase and signing…"),
                );
            }
            // The others are `handle`'s.
            _ => {}
        }
    }

    /// The first-run walk's commands (from `handle`).
    fn handle_setup(&mut self, cmd: UiCommand) {
        let st = &mut self.state;
        match cmd {
            UiCommand::CreateVault => {
                if st.busy.is_some() {
                    return;
                }
                if let Some(problem) = setup_accounts_problem(&st.setup) {
                    st.error = Some(problem);
                    return;
                }
                st.error = None;
                let s = &mut st.setup;
                let admin = s.admin.trim().to_string();
                let clinician = s.clinician.trim().to_string();
                let admin_passphrase = Secret::new(s.admin_passphrase.clone());
                let kept = Secret::new(std::mem::take(&mut s.admin_passphrase));
                let clinician_passphrase = Secret::new(std::mem::take(&mut s.clinician_passphrase));
                wipe(&mut s.admin_confirm);
                wipe(&mut s.clinician_confirm);
                s.progress = Some((0.0, "Starting…".into()));
                self.setup_passphrase = Some(kept);
                self.send(
                    Request::CreateVault {
                        admin,
                        admin_passphrase,
                        clinician,
                        clinician_passphrase,
                    },
                    Some("Creating the vault…"),
                );
            }
            UiCommand::ImportModelsFolder => {
                let folder = st.setup.models_folder.trim().to_string();
                if folder.is_empty() {
                    st.error = Some(
                        "Enter the full path of the folder (or removable disk) that holds the model files."
                            .into(),
                    );
                    return;
                }
                if st.busy.is_some() {
                    return;
                }
                st.error = None;
                st.setup.imported.clear();
                self.send(
                    Request::ImportModelsFrom { folder },
                    Some("Importing the models (checking each SHA-256)…"),
                );
            }
            UiCommand::LoadConsentTexts => {
                let practice = match st.setup.practice.trim() {
                    "" => "Our practice".to_string(),
                    p => p.to_string(),
                };
                self.send(Request::ConsentTexts { practice }, None);
            }
            UiCommand::SetupGoTo(step) => {
                // The vault exists before any later step can be shown.
                if st.setup.verifier_key.is_none() || st.busy.is_some() {
                    return;
                }
                st.error = None;
                st.admin.retention_saved = None;
                st.setup.step = step;
                if step == SetupStep::Consent && st.setup.consent.is_none() {
                    self.handle(UiCommand::LoadConsentTexts);
                }
            }
            UiCommand::FinishSetup => {
                if st.setup.verifier_key.is_none() {
                    return;
                }
                let clinician = st.setup.clinician.trim().to_string();
                self.lock(Some(format!(
                    "Tacet is ready. {clinician} can sign in now and record the first visit; the admin signs in to manage models, users and the audit log."
                )));
                self.state.unlock.user = clinician;
            }
            // The others are `handle`'s.
            _ => {}
        }
    }

    /// The admin screen's commands (from `handle`): the audit log, the
    /// installation report, models, retention and people.
    fn handle_admin(&mut self, cmd: UiCommand) {
        let st = &mut self.state;
        match cmd {
            UiCommand::VerifyAudit => {
                let typed = std::mem::take(&mut st.admin.chain_key_input);
                let chain_key = (!typed.trim().is_empty()).then(|| Secret::new(typed));
                self.send(
                    Request::VerifyAudit { chain_key },
                    Some("Verifying the audit log…"),
                )
            }
            UiCommand::LoadCheckpoint => self.send(Request::Checkpoint, None),
            UiCommand::SaveCheckpoint => {
                let path = st.admin.checkpoint_path.trim().to_string();
                if path.is_empty() {
                    st.error =
                        Some("Enter where to save the checkpoint (a path to a new file).".into());
                    return;
                }
                st.error = None;
                self.send(
                    Request::SaveCheckpoint { path },
                    Some("Signing and saving a checkpoint…"),
                );
            }
            UiCommand::CopyCheckpoint => {
                if let Some(c) = &st.admin.checkpoint {
                    self.to_copy = Some(c.clone());
                    st.notice = Some("Checkpoint copied.".into());
                }
            }
            UiCommand::LoadDeletions => self.send(Request::Deletions, None),
            UiCommand::LoadModels => self.send(Request::Models, None),
            UiCommand::ComplianceReport => {
                // The backend refuses a clinician too; no screen offers it.
                if st.signed_in.as_ref().map(|s| s.role) != Some(Role::Admin) {
                    st.error = Some(
                        "The installation report is an admin's document: sign in as an admin."
                            .into(),
                    );
                    return;
                }
                if st.busy.is_some() {
                    return;
                }
                st.error = None;
                st.admin.report_saved = None;
                self.send(
                    Request::ComplianceReport,
                    Some("Writing the installation report…"),
                );
            }
            UiCommand::SaveReport(format) => {
                if st.admin.report.is_none() {
                    st.error = Some("Write the report first, then save it.".into());
                    return;
                }
                let path = st.admin.report_path.trim().to_string();
                if path.is_empty() {
                    st.error =
                        Some("Enter where to save the report (a path to a new file).".into());
                    return;
                }
                if st.busy.is_some() {
                    return;
                }
                st.error = None;
                self.send(
                    Request::SaveComplianceReport { path, format },
                    Some("Saving the report…"),
                );
            }
            UiCommand::SaveSupportLog => {
                let path = st.admin.support_log_path.trim().to_string();
                if path.is_empty() {
                    st.error = Some(
                        "Enter where to save the copy of the support log (a path to a new file)."
                            .into(),
                    );
                    return;
                }
                if st.busy.is_some() {
                    return;
                }
                st.error = None;
                st.admin.support_log_saved = None;
                self.send(
                    Request::SaveSupportLog { path },
                    Some("Saving a copy of the support log…"),
                );
            }
            UiCommand::LoadRetention => self.send(Request::Retention, None),
            UiCommand::SaveRetention => {
                match crate::state::parse_retention(
                    &st.admin.retention_days_input,
                    &st.admin.grace_hours_input,
                ) {
                    Err(why) => {
                        st.admin.retention_saved = None;
                        st.error = Some(why);
                    }
                    Ok((retention_days, grace_hours)) => {
                        st.error = None;
                        st.admin.retention_saved = None;
                        self.send(
                            Request::SetRetention {
                                retention_days,
                                grace_hours,
                            },
                            Some(SAVING_RETENTION),
                        );
                    }
                }
            }
            UiCommand::SaveAnchor => {
                let path = st.admin.anchor_input.trim().to_string();
                st.admin.retention_saved = None;
                if path.is_empty() {
                    st.error = Some(
                        "Enter the full path of a folder outside the data folder (a second disk, a share, a USB stick).".into(),
                    );
                } else {
                    st.error = None;
                    self.send(Request::SetAnchorDir { path }, Some(SAVING_ANCHOR));
                }
            }
            UiCommand::VerifyModel(id) => {
                if st.busy.is_some() {
                    return;
                }
                st.error = None;
                st.admin.model_checks.retain(|(m, _, _)| *m != id);
                self.send(Request::VerifyModel { id }, Some("Verifying the model…"));
            }
            UiCommand::ImportModel => {
                let path = st.admin.import_path.trim().to_string();
                if path.is_empty() {
                    st.error = Some(
                        "Enter the path of the model file (or directory, or wheel) to import."
                            .into(),
                    );
                    return;
                }
                if st.busy.is_some() {
                    return;
                }
                st.error = None;
                st.admin.import_result = None;
                let q8_0 = st.admin.import_q8_0;
                self.send(
                    Request::ImportModel { path, q8_0 },
                    Some("Importing the model (checking its SHA-256)…"),
                );
            }
            UiCommand::LoadUsers => self.send(Request::Users, None),
            UiCommand::RemoveUser(name) => {
                if st.busy.is_some() {
                    return;
                }
                st.error = None;
                st.admin.people_done = None;
                self.send(Request::RemoveUser { name }, Some("Removing the account…"));
            }
            UiCommand::ChangePassphrase => {
                let form = &mut st.admin.passwd;
                let refusal = if form.current.is_empty() {
                    Some("Enter your current passphrase.".to_string())
                } else if let Err(p) = tacet_core::passphrase::check_new(&form.new, "") {
                    Some(format!("The new passphrase {p}."))
                } else if form.new != form.confirm {
                    Some("The two new passphrases differ: type the same passphrase twice.".into())
                } else {
                    None
                };
                st.admin.people_done = None;
                if let Some(why) = refusal {
                    wipe(&mut form.confirm);
                    st.error = Some(why);
                    return;
                }
                if st.busy.is_some() {
                    return;
                }
                st.error = None;
                wipe(&mut form.confirm);
                let current = Secret::new(std::mem::take(&mut form.current));
                let new = Secret::new(std::mem::take(&mut form.new));
                self.send(
                    Request::ChangePassphrase { current, new },
                    Some("Changing your passphrase (deriving the new key)…"),
                );
            }
            UiCommand::AddUser => {
                let form = &mut st.admin.new_user;
                let name = form.name.trim().to_string();
                let refusal = if name.is_empty() {
                    Some("Enter the new user's name.".to_string())
                } else if let Err(p) = tacet_core::passphrase::check_new(&form.passphrase, &name) {
                    Some(format!("The passphrase {p}."))
                } else if form.passphrase != form.confirm {
                    Some("The two passphrases differ: type the same passphrase twice.".into())
                } else {
                    None
                };
                st.admin.user_added = None;
                if let Some(why) = refusal {
                    wipe(&mut form.confirm);
                    st.error = Some(why);
                    return;
                }
                if st.busy.is_some() {
                    return;
                }
                st.error = None;
                let role = form.role;
                wipe(&mut form.confirm);
                let passphrase = Secret::new(std::mem::take(&mut form.passphrase));
                self.send(
                    Request::AddUser {
                        name,
                        role,
                        passphrase,
                    },
                    Some("Adding the user (deriving their key)…"),
                );
            }
            // The others are `handle`'s.
            _ => {}
        }
    }

    fn export(&mut self, cmd: UiCommand) {
        let st = &mut self.state;
        let Some(attested) = &st.work.attested else {
            // Unreachable from the screens: no export control exists
            // before attestation. Refuse rather than trust that.
            st.error = Some("The note has not been attested, so it cannot be exported.".into());
            return;
        };
        let pending = match cmd {
            UiCommand::CopyNote => PendingExport::Note,
            UiCommand::CopySection(i) => PendingExport::Section(i),
            _ => {
                let path = st.work.save_path.trim().to_string();
                if path.is_empty() {
                    st.error = Some("Enter where to save the note (a path to a new file).".into());
                    return;
                }
                if let Some(why) = outside_export_folder(&path, &st.settings.export_dir) {
                    st.error = Some(why);
                    return;
                }
                let format = match cmd {
                    UiCommand::SaveAs(format) => format,
                    _ => tacet_core::ExportFormat::Text,
                };
                PendingExport::File(ExportTarget::File { path, format })
            }
        };
        let destroyed = st.work.receipt.is_some();
        if destroyed && !matches!(pending, PendingExport::File(_)) {
            // Already exported and destroyed: copies come from the attested
            // text still on screen.
            self.to_copy = copy_text_for(attested, &pending);
            st.work.last_export = Some(describe(&pending, st.settings.clipboard_clear_s));
            return;
        }
        let Some(session) = st.work.session else {
            return;
        };
        if st.busy.is_some() {
            return;
        }
        let target = match &pending {
            PendingExport::File(t) => t.clone(),
            _ => ExportTarget::Clipboard,
        };
        self.pending_export = Some(pending);
        // After the first export the backend saves another copy from the
        // attested note it kept; nothing is destroyed twice.
        let label = if destroyed {
            "Saving…"
        } else {
            "Exporting and destroying the session…"
        };
        self.send(Request::Export { session, target }, Some(label));
    }

    /// Applies one event from the backend.
    pub fn apply(&mut self, ev: Event) {
        let st = &mut self.state;
        // Once locked, a late answer to an earlier request (a draft, an
        // attestation) must not bring a session's screen back.
        let for_signed_in = !matches!(
            ev,
            Event::Unlocked { .. }
                | Event::Locked
                | Event::Failed {
                    op: Op::Unlock | Op::Setup,
                    ..
                }
                | Event::NeedsSetup { .. }
                | Event::SetupProgress { .. }
                | Event::VaultCreated { .. }
        );
        if for_signed_in && st.signed_in.is_none() {
            st.busy = None;
            return;
        }
        match ev {
            ev @ (Event::NeedsSetup { .. }
            | Event::SetupProgress { .. }
            | Event::VaultCreated { .. }
            | Event::ModelsFolderImported(..)
            | Event::ConsentTexts { .. }) => self.apply_setup(ev),
            Event::Unlocked {
                user,
                role,
                templates,
                ..
            } if st.screen == Screen::Setup && role == Role::Admin => {
                // The walk goes on as the admin it just created.
                st.busy = None;
                st.error = None;
                st.signed_in = Some(SignedIn { user, role });
                st.templates = templates;
                st.setup.progress = None;
                st.setup.step = SetupStep::Models;
                self.last_activity_s = self.now_s;
                self.send(Request::Models, None);
                self.send(Request::Retention, None);
            }
            Event::Unlocked {
                user,
                role,
                templates,
                warning,
            } => {
                st.busy = None;
                st.error = None;
                st.notice = warning.map(|w| format!("Warning: {w}"));
                wipe(&mut st.unlock.passphrase);
                st.signed_in = Some(SignedIn { user, role });
                st.templates = templates;
                self.last_activity_s = self.now_s;
                match role {
                    Role::Admin => {
                        st.screen = Screen::Admin;
                        self.send(Request::Deletions, None);
                        self.send(Request::Models, None);
                        self.send(Request::Retention, None);
                        self.send(Request::Users, None);
                    }
                    Role::Clinician => {
                        st.screen = Screen::Sessions;
                        self.send(Request::ListSessions, None);
                        // The script read aloud: the practice's template,
                        // with this vault's retention filled in.
                        self.send(
                            Request::ConsentTexts {
                                practice: "Our practice".into(),
                            },
                            None,
                        );
                    }
                }
            }
            Event::Locked => {}
            Event::Sessions(list) => st.sessions = list,
            Event::AttestedOpened {
                session,
                text,
                note_sha256_hex,
            } => {
                st.busy = None;
                st.work.session = Some(session);
                st.work.attested = Some(AttestedView {
                    sections: tacet_core::review::sections_of(&text),
                    text,
                    note_sha256_hex,
                });
                st.screen = Screen::Export;
            }
            Event::Shared { message } => {
                st.busy = None;
                st.share.with.clear();
                st.notice = Some(message);
            }
            Event::ConsentRecorded { given } => {
                st.busy = None;
                st.new_session.consent = Some(given);
                if given {
                    st.screen = Screen::Record;
                    st.notice = None;
                    reset_live(&mut st.live);
                    self.send(Request::ListInputDevices, None);
                } else {
                    st.notice = Some("The patient declined. Nothing will be recorded; their answer is in the audit log.".into());
                }
            }
            Event::Progress(label) => {
                if let Some(b) = &mut st.busy {
                    b.label = label;
                }
            }
            Event::Transcribed {
                session,
                transcript,
            } => {
                st.busy = None;
                st.work.session = Some(session);
                st.work.transcript = Some(transcript);
                reset_live(&mut st.live);
                st.screen = Screen::Draft;
                self.handle(UiCommand::StartDraft);
            }
            ev @ (Event::InputDevices { .. }
            | Event::RecordingStarted { .. }
            | Event::LiveUpdate { .. }
            | Event::RecordingPaused { .. }
            | Event::RecordingResumed { .. }
            | Event::DeviceLost { .. }
            | Event::RecordingStopped { .. }) => self.apply_recording(ev),
            ev @ (Event::DraftSection(..)
            | Event::DraftToken(..)
            | Event::Drafted { .. }
            | Event::Grounding { .. }
            | Event::DraftCancelled
            | Event::Attested { .. }
            | Event::Exported { .. }) => self.apply_note(ev),
            ev @ (Event::Verification(..)
            | Event::Deletions(..)
            | Event::Checkpoint(..)
            | Event::Models(..)
            | Event::Retention(..)
            | Event::ModelVerified { .. }
            | Event::ModelImported { .. }
            | Event::Users(..)
            | Event::UserRemoved { .. }
            | Event::PassphraseChanged { .. }
            | Event::UserAdded { .. }
            | Event::ComplianceReport { .. }
            | Event::CheckpointSaved { .. }
            | Event::SupportLogSaved { .. }
            | Event::ComplianceSaved { .. }) => self.apply_admin(ev),
            Event::Failed { op, message } => {
                st.busy = None;
                st.setup.progress = None;
                match op {
                    Op::Attest => {
                        self.pending_attest = None;
                        st.work.attest_refusal = Some(message);
                    }
                    Op::Export => {
                        self.pending_export = None;
                        st.error = Some(message);
                    }
                    Op::Record => {
                        // A failed start or stop ends the recording on
                        // screen; a failed pause or resume keeps it.
                        if matches!(st.live.phase, LivePhase::Starting | LivePhase::Stopping) {
                            reset_live(&mut st.live);
                        }
                        st.error = Some(message);
                    }
                    _ => st.error = Some(message),
                }
            }
        }
    }

    /// The first-run walk's events (from `apply`).
    fn apply_setup(&mut self, ev: Event) {
        let st = &mut self.state;
        match ev {
            Event::NeedsSetup { data_dir } => {
                st.screen = Screen::Setup;
                st.setup = SetupView {
                    data_dir,
                    admin: "admin".into(),
                    ..SetupView::default()
                };
            }
            Event::SetupProgress { fraction, label } => {
                st.setup.progress = Some((fraction, label));
            }
            Event::VaultCreated {
                verifier_key,
                chain_key,
            } => {
                st.setup.verifier_key = Some(verifier_key);
                st.setup.chain_key = Some(chain_key);
                st.setup.progress = Some((1.0, "Signing in as the admin…".into()));
                let admin = st.setup.admin.trim().to_string();
                if let Some(passphrase) = self.setup_passphrase.take() {
                    self.send(
                        Request::Unlock {
                            user: admin,
                            passphrase,
                        },
                        Some("Signing in as the admin…"),
                    );
                }
            }
            Event::ModelsFolderImported(rows) => {
                st.busy = None;
                st.setup.progress = None;
                st.setup.imported = rows;
            }
            Event::ConsentTexts { clause, script } => {
                st.consent_script = Some(script.clone());
                st.setup.consent = Some((clause, script));
            }
            // The others are `apply`'s.
            _ => {}
        }
    }

    /// A live recording's events (from `apply`): devices, start, live
    /// text and level, pause, resume, a lost device, stop.
    fn apply_recording(&mut self, ev: Event) {
        let st = &mut self.state;
        match ev {
            Event::InputDevices {
                devices,
                remembered,
            } => {
                if !st.live.is_active() {
                    // Pre-select the remembered device when it is connected.
                    st.live.selected = remembered
                        .clone()
                        .filter(|r| devices.iter().any(|d| d.id == *r));
                }
                st.live.devices = devices;
                st.live.remembered = remembered;
                st.live.devices_loaded = true;
            }
            Event::RecordingStarted {
                session,
                device,
                notice,
            } => {
                st.live.phase = LivePhase::Recording;
                st.live.session = Some(session);
                st.live.device = Some(device);
                if notice.is_some() {
                    st.notice = notice;
                }
            }
            Event::LiveUpdate {
                elapsed_ms,
                level,
                committed,
                tentative,
            } => {
                st.live.elapsed_ms = elapsed_ms;
                if level.is_some() {
                    st.live.level = level;
                }
                st.live.committed.extend(committed);
                if let Some(t) = tentative {
                    st.live.tentative = t;
                }
            }
            Event::RecordingPaused { elapsed_ms } => {
                st.live.phase = LivePhase::Paused;
                st.live.elapsed_ms = elapsed_ms;
                st.live.level = None;
            }
            Event::RecordingResumed { device } => {
                st.live.phase = LivePhase::Recording;
                st.live.device = Some(device);
                st.live.device_lost = None;
            }
            Event::DeviceLost {
                message,
                elapsed_ms,
            } => {
                st.live.phase = LivePhase::DeviceLost;
                st.live.elapsed_ms = elapsed_ms;
                st.live.level = None;
                st.live.device_lost = Some(message);
                // Offer what is connected now.
                self.send(Request::ListInputDevices, None);
            }
            Event::RecordingStopped {
                recorded_ms,
                pauses,
            } => {
                st.live.phase = LivePhase::Stopping;
                st.live.elapsed_ms = recorded_ms;
                let label = format!(
                    "Finishing the transcript of {} (paused {pauses} time(s))…",
                    crate::screens::clock(recorded_ms)
                );
                match &mut st.busy {
                    Some(b) => b.label = label,
                    None => {
                        st.busy = Some(Busy {
                            label,
                            started_s: self.now_s,
                        })
                    }
                }
            }
            // The others are `apply`'s.
            _ => {}
        }
    }

    /// The note's events (from `apply`): the draft as it comes, its
    /// grounding, the attestation and the export.
    fn apply_note(&mut self, ev: Event) {
        let st = &mut self.state;
        match ev {
            Event::DraftSection(h) => {
                if !st.work.live_draft.is_empty() {
                    st.work.live_draft.push_str("\n\n");
                }
                st.work.live_draft.push_str(&h);
                st.work.live_draft.push_str(":\n");
                if let Some(b) = &mut st.busy {
                    b.label = format!("Writing {h}…");
                }
            }
            Event::DraftToken(t) => st.work.live_draft.push_str(&t),
            Event::Drafted { draft } => {
                st.busy = None;
                st.work.sections = review_sections(
                    &draft,
                    st.templates.iter().find(|t| t.id == st.work.template_id),
                );
                st.work.coverage_notice = draft.provenance.coverage_notice();
                // A new draft needs its own confirmation if it is empty.
                st.work.confirm_empty = false;
                st.work.focused = None;
                st.screen = Screen::Review;
            }
            // A late answer for a session no longer on screen is dropped
            // (by the catch-all below).
            Event::Grounding { session, grounding } if st.work.session == Some(session) => {
                st.work.acceptances = vec![Default::default(); grounding.sentences.len()];
                st.work.grounding = Some(grounding);
                st.work.selected_sentence = None;
            }
            Event::DraftCancelled => {
                st.busy = None;
                st.notice = Some(
                    "Drafting was cancelled. Write the draft again when you are ready.".into(),
                );
            }
            Event::Attested { note_sha256_hex } => {
                st.busy = None;
                let sections = self.pending_attest.take().unwrap_or_default();
                let text = render_sections(sections.iter().map(|(h, t)| (h.as_str(), t.as_str())));
                st.work.attested = Some(AttestedView {
                    text,
                    sections,
                    note_sha256_hex,
                });
                st.screen = Screen::Export;
            }
            Event::Exported {
                receipt,
                checkpoint,
            } => {
                st.busy = None;
                st.work.receipt = Some(receipt);
                st.work.checkpoint = Some(checkpoint);
                if let (Some(p), Some(attested)) = (self.pending_export.take(), &st.work.attested) {
                    self.to_copy = copy_text_for(attested, &p);
                    st.work.last_export = Some(describe(&p, st.settings.clipboard_clear_s));
                }
            }
            // The others are `apply`'s.
            _ => {}
        }
    }

    /// The admin screen's events (from `apply`).
    fn apply_admin(&mut self, ev: Event) {
        let st = &mut self.state;
        match ev {
            Event::Verification(v) => {
                st.busy = None;
                st.admin.verification = Some(v);
            }
            Event::Deletions(d) => st.admin.deletions = Some(d),
            Event::Checkpoint(c) => st.admin.checkpoint = Some(c),
            Event::Models(m) => st.admin.models = Some(m),
            Event::Retention(r) => {
                let busy = st.busy.take().map(|b| b.label);
                if busy.as_deref() == Some(SAVING_RETENTION) {
                    st.admin.retention_saved = Some(format!(
                        "Saved: unexported sessions are destroyed after {} days, exported ones after {} hours.",
                        r.retention_days, r.grace_hours
                    ));
                }
                if busy.as_deref() == Some(SAVING_ANCHOR) {
                    if let Some(d) = &r.anchor_dir {
                        st.admin.retention_saved = Some(format!(
                            "Saved: every signed checkpoint is now anchored in {d}, and the verifier key is pinned there."
                        ));
                        st.admin.anchor_input.clear();
                    }
                }
                st.admin.retention_days_input = format!("{}", r.retention_days);
                st.admin.grace_hours_input = format!("{}", r.grace_hours);
                st.admin.retention = Some(r);
            }
            Event::ModelVerified { id, ok, message } => {
                st.busy = None;
                st.admin.model_checks.retain(|(m, _, _)| *m != id);
                st.admin.model_checks.push((id, ok, message));
            }
            Event::ModelImported { id } => {
                st.busy = None;
                st.admin.import_path.clear();
                st.admin.import_result = Some(format!(
                    "Imported {id}: its SHA-256 was checked before anything read it."
                ));
            }
            Event::Users(u) => st.admin.users = Some(u),
            Event::UserRemoved { name } => {
                st.busy = None;
                st.admin.people_done = Some(format!(
                    "Removed {name}. Their passphrase opens nothing in this vault any more."
                ));
            }
            Event::PassphraseChanged { session_keys } => {
                st.busy = None;
                st.admin.passwd = Default::default();
                st.admin.people_done = Some(match st.signed_in.as_ref().map(|s| s.role) {
                    Some(Role::Clinician) => format!(
                        "Your passphrase changed, with a new key pair: {session_keys} session key(s) now open only with the new passphrase."
                    ),
                    _ => "Your passphrase changed.".to_string(),
                });
            }
            Event::UserAdded { name, role } => {
                st.busy = None;
                st.admin.new_user = crate::state::NewUserForm {
                    role,
                    ..Default::default()
                };
                st.admin.user_added = Some(format!("Added {name} as {}.", role_words(role)));
            }
            Event::ComplianceReport {
                markdown,
                audit_verified,
            } => {
                st.busy = None;
                st.admin.report = Some(ComplianceView {
                    markdown,
                    audit_verified,
                });
                st.admin.report_saved = None;
                st.admin.scroll_to_report = true;
            }
            Event::CheckpointSaved { path, checkpoint } => {
                st.busy = None;
                st.admin.checkpoint = Some(checkpoint);
                st.notice = Some(format!("The signed checkpoint was saved to {path}."));
            }
            Event::SupportLogSaved { path } => {
                st.busy = None;
                st.admin.support_log_saved = Some(format!(
                    "A copy of the support log was saved to {path}: send it to whoever supports Tacet."
                ));
            }
            Event::ComplianceSaved { path, format } => {
                st.busy = None;
                st.admin.report_saved = Some(format!(
                    "The report was saved as {} to {path}.",
                    format.label()
                ));
            }
            // The others are `apply`'s.
            _ => {}
        }
    }
}

/// Ends the live recording on screen, keeping the device list and choice.
fn reset_live(live: &mut LiveView) {
    *live = LiveView {
        devices: std::mem::take(&mut live.devices),
        devices_loaded: live.devices_loaded,
        remembered: live.remembered.take(),
        selected: live.selected.take(),
        ..LiveView::default()
    };
}

/// The busy label while retention settings are saved (the answer to a save
/// is confirmed; the answer to a refresh is not).
const SAVING_RETENTION: &str = "Saving the retention settings…";
const SAVING_ANCHOR: &str = "Anchoring the audit log…";

/// Why `path` cannot take a note when the program writes only into
/// `export_dir` (none when it fences nothing or the path is inside). The
/// kernel refuses such a write anyway; this says so in words first.
fn outside_export_folder(path: &str, export_dir: &str) -> Option<String> {
    if export_dir.is_empty() {
        return None;
    }
    // Absolute, with "." and ".." taken away as written ("Documents/../.bashrc"
    // is not in Documents).
    let plain = |p: &str| {
        std::path::absolute(p).ok().map(|a| {
            let mut out = std::path::PathBuf::new();
            for c in a.components() {
                match c {
                    std::path::Component::ParentDir => {
                        out.pop();
                    }
                    std::path::Component::CurDir => {}
                    c => out.push(c),
                }
            }
            out
        })
    };
    let inside = |p: &str| {
        plain(p)
            .zip(plain(export_dir))
            .is_some_and(|(p, dir)| p.starts_with(&dir) && p != dir)
    };
    if inside(path) {
        None
    } else {
        Some(format!(
            "Tacet saves notes only in its export folder, {export_dir}: choose a file there. \
             (To save elsewhere, start Tacet with --export-dir FOLDER.)"
        ))
    }
}

/// A role as the confirmation says it.
fn role_words(role: Role) -> &'static str {
    match role {
        Role::Admin => "an admin",
        Role::Clinician => "a clinician",
    }
}

/// True when `minutes` (non-zero) have passed since the last input.
pub fn should_auto_lock(now_s: f64, last_activity_s: f64, minutes: u32) -> bool {
    minutes > 0 && now_s - last_activity_s >= f64::from(minutes) * 60.0
}

/// Why the note cannot be attested yet, or `None` when it can.
pub fn attest_blocker(work: &Work) -> Option<String> {
    let open = work.unresolved();
    let flags = work.open_flags();
    if open > 0 || flags > 0 {
        let mut parts = Vec::new();
        if open > 0 {
            parts.push(format!(
                "{open} section(s) still need review: accept or edit each one"
            ));
        }
        if flags > 0 {
            parts.push(format!(
                "{}: edit the sentence or tick \"Accept flag\" and give a reason ({MIN_REASON_CHARS} characters or more)",
                flags_unresolved(flags)
            ));
        }
        return Some(format!("{} (F jumps to the next).", parts.join("; ")));
    }
    if work.sections.is_empty() {
        return Some("There is no draft to attest.".into());
    }
    if work.is_empty_note() && !work.confirm_empty {
        return Some(format!(
            "{EMPTY_NOTE_WARNING} Add what the visit covered, or tick \"{}\" to attest it as it is.",
            tacet_core::review::CONFIRM_EMPTY_STATEMENT
        ));
    }
    if !work.attest_checked {
        return Some(format!(
            "Tick \"{}\" to attest.",
            tacet_core::review::ATTESTATION_STATEMENT
        ));
    }
    if work.attest_passphrase.is_empty() {
        return Some("Re-enter your passphrase to sign.".into());
    }
    None
}

/// What the review screen says above an empty note (and the start of the
/// reason attesting it is refused without the confirmation).
pub const EMPTY_NOTE_WARNING: &str =
    "This note has no content: every section is empty or says \"Not discussed.\".";

/// "1 flag unresolved", "2 flags unresolved".
pub fn flags_unresolved(n: usize) -> String {
    if n == 1 {
        "1 flag unresolved".into()
    } else {
        format!("{n} flags unresolved")
    }
}

/// The next (or previous) section needing attention after `from`, wrapping;
/// `needs[i]` says whether section `i` does ([`Work::needs_attention`]).
pub fn next_attention(needs: &[bool], from: Option<usize>, forward: bool) -> Option<usize> {
    let n = needs.len();
    if n == 0 {
        return None;
    }
    let start = match (from, forward) {
        (Some(i), _) => i,
        (None, true) => n - 1,
        (None, false) => 0,
    };
    (1..=n)
        .map(|k| {
            if forward {
                (start + k) % n
            } else {
                (start + n * 2 - k) % n
            }
        })
        .find(|&i| needs[i])
}

fn review_sections(draft: &Draft, template: Option<&tacet_core::Template>) -> Vec<SectionReview> {
    draft
        .sections
        .iter()
        .map(|s| SectionReview {
            heading: s.heading.clone(),
            guidance: template
                .and_then(|t| t.sections.iter().find(|ts| ts.heading == s.heading))
                .map(|ts| ts.guidance.clone())
                .unwrap_or_default(),
            drafted: s.text.trim().to_string(),
            text: s.text.trim().to_string(),
            status: SectionStatus::NeedsReview,
        })
        .collect()
}

fn copy_text_for(attested: &AttestedView, p: &PendingExport) -> Option<String> {
    match p {
        PendingExport::Note => Some(attested.text.clone()),
        PendingExport::Section(i) => attested
            .sections
            .get(*i)
            .map(|(h, t)| render_sections(std::iter::once((h.as_str(), t.as_str())))),
        PendingExport::File(_) => None,
    }
}

fn describe(p: &PendingExport, clear_s: u32) -> String {
    let clears = if clear_s > 0 {
        format!(" The clipboard clears in {clear_s} s.")
    } else {
        String::new()
    };
    match p {
        PendingExport::Note => format!("The whole note was copied.{clears}"),
        PendingExport::Section(_) => format!("The section was copied.{clears}"),
        PendingExport::File(target) => format!(
            "The note was saved as {} to {}.",
            target.label(),
            target.path().unwrap_or_default()
        ),
    }
}

/// What the window says once a recording file is chosen (dropped or
/// picked).
const RECORDING_CHOSEN: &str = "Recording chosen: press Transcribe recording to start its session.";

/// The text field a picker fills (and starts from).
fn path_field_mut(st: &mut ViewState, field: crate::picker::PathField) -> &mut String {
    use crate::picker::PathField;
    match field {
        PathField::Recording => &mut st.new_session.wav_path,
        PathField::ModelsFolder => &mut st.setup.models_folder,
        PathField::AnchorFolder => &mut st.admin.anchor_input,
        PathField::SaveNote => &mut st.work.save_path,
        PathField::SaveReport => &mut st.admin.report_path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sec(status: SectionStatus) -> SectionReview {
        SectionReview {
            heading: "PLAN".into(),
            guidance: String::new(),
            drafted: "x".into(),
            text: "x".into(),
            status,
        }
    }

    #[test]
    fn auto_lock_waits_for_the_configured_minutes() {
        assert!(!should_auto_lock(100.0, 50.0, 1));
        assert!(should_auto_lock(111.0, 50.0, 1));
        assert!(!should_auto_lock(1e9, 0.0, 0), "0 turns auto-lock off");
    }

    #[test]
    fn attention_moves_over_unresolved_sections_and_wraps() {
        use SectionStatus::*;
        let w = Work {
            sections: vec![
                sec(Accepted),
                sec(NeedsReview),
                sec(Edited),
                sec(NeedsReview),
            ],
            ..Work::default()
        };
        let s = w.needs_attention();
        assert_eq!(next_attention(&s, None, true), Some(1));
        assert_eq!(next_attention(&s, Some(1), true), Some(3));
        assert_eq!(next_attention(&s, Some(3), true), Some(1));
        assert_eq!(next_attention(&s, Some(1), false), Some(3));
        assert_eq!(next_attention(&[false], None, true), None);
    }

    fn flagged_work() -> Work {
        use crate::backend::{EvidenceView, FlagView, GroundingView, SentenceView};
        let mut s = sec(SectionStatus::Accepted);
        s.text = "Stable. Start aspirin 500 mg daily.".into();
        s.drafted = s.text.clone();
        let sentence = |text: &str, flags: Vec<FlagView>| SentenceView {
            section: "PLAN".into(),
            index_in_section: 0,
            text: text.into(),
            evidence: vec![EvidenceView {
                segment_id: 4,
                start_ms: 0,
                end_ms: 1000,
                score: 0.5,
            }],
            flags,
        };
        let dose = FlagView {
            label: "dose".into(),
            detail: "dose 500 mg is not in the transcript".into(),
            evidence_segment: Some(7),
        };
        Work {
            sections: vec![s],
            grounding: Some(GroundingView {
                sentences: vec![
                    sentence("Stable.", vec![]),
                    sentence("Start aspirin 500 mg daily.", vec![dose.clone(), dose]),
                ],
            }),
            acceptances: vec![Default::default(); 2],
            attest_checked: true,
            attest_passphrase: "p".into(),
            ..Work::default()
        }
    }

    #[test]
    fn fail_attest_while_a_flag_is_open_until_accepted_with_a_reason() {
        let mut w = flagged_work();
        assert_eq!(w.open_flags(), 2, "every flag of the sentence counts");
        assert!(attest_blocker(&w).unwrap().contains("2 flags unresolved"));
        assert_eq!(
            w.needs_attention(),
            vec![true],
            "an accepted section with a flag"
        );
        w.acceptances[1].accepted = true;
        w.acceptances[1].reason = " ok ".into();
        assert_eq!(
            w.open_flags(),
            2,
            "a reason under 3 characters does not count"
        );
        w.acceptances[1].reason = "checked the bottle".into();
        assert_eq!(attest_blocker(&w), None);
        assert_eq!(
            w.accept_flags_reason().as_deref(),
            Some("dose, dose: checked the bottle")
        );
        assert_eq!(w.needs_attention(), vec![false]);
    }

    #[test]
    fn editing_the_flagged_sentence_away_resolves_its_flags() {
        let mut w = flagged_work();
        w.sections[0].text = "Stable.\nStart aspirin\n500 mg daily.".into();
        assert_eq!(w.open_flags(), 2, "line breaks do not hide a sentence");
        w.sections[0].text = "Stable. Start aspirin 81 mg daily.".into();
        w.sections[0].status = SectionStatus::Edited;
        assert_eq!(w.open_flags(), 0);
        assert_eq!(attest_blocker(&w), None);
        assert_eq!(w.accept_flags_reason(), None);
    }

    #[test]
    fn the_selected_sentence_highlights_its_evidence_and_flag_segments() {
        let mut w = flagged_work();
        assert!(w.highlighted_segments().is_empty());
        w.selected_sentence = Some(1);
        assert_eq!(w.highlighted_segments(), vec![4, 7]);
    }

    #[test]
    fn fail_a_late_event_after_lock_brings_no_screen_back() {
        let (fake, _probe) = crate::fake::FakeBackend::new("x");
        let mut ui = TacetUi::new(Box::new(fake));
        ui.apply(Event::Attested {
            note_sha256_hex: "ab".repeat(32),
        });
        assert_eq!(ui.state.screen, Screen::Unlock);
        assert!(ui.state.work.attested.is_none());
    }

    #[test]
    fn fail_attest_with_an_open_section_or_no_passphrase() {
        let mut w = Work {
            sections: vec![
                sec(SectionStatus::Accepted),
                sec(SectionStatus::NeedsReview),
            ],
            attest_checked: true,
            attest_passphrase: "p".into(),
            ..Work::default()
        };
        assert!(attest_blocker(&w).unwrap().contains("1 section"));
        w.sections[1].status = SectionStatus::Edited;
        assert_eq!(attest_blocker(&w), None);
        w.attest_passphrase.clear();
        assert!(attest_blocker(&w).unwrap().contains("passphrase"));
    }

    #[test]
    fn fail_attest_an_empty_note_until_it_is_confirmed_empty() {
        let mut w = Work {
            sections: vec![sec(SectionStatus::Accepted), sec(SectionStatus::Edited)],
            attest_checked: true,
            attest_passphrase: "p".into(),
            ..Work::default()
        };
        w.sections[0].text = "Not discussed.".into();
        w.sections[1].text = String::new();
        assert!(w.is_empty_note());
        let why = attest_blocker(&w).unwrap();
        assert!(why.contains("no content"), "{why}");
        assert!(
            why.contains(tacet_core::review::CONFIRM_EMPTY_STATEMENT),
            "{why}"
        );
        w.confirm_empty = true;
        assert_eq!(attest_blocker(&w), None);
        // One real sentence and it is a note again: no confirmation asked.
        w.confirm_empty = false;
        w.sections[1].text = "Rest the knee.".into();
        assert!(!w.is_empty_note());
        assert_eq!(attest_blocker(&w), None);
        assert!(
            !Work::default().is_empty_note(),
            "no draft is not an empty note"
        );
    }

    #[test]
    fn fail_a_note_saved_outside_the_export_folder_is_refused_in_words() {
        // No fence, no check.
        assert_eq!(outside_export_folder("/home/a/.bashrc", ""), None);
        let dir = "/home/a/Documents";
        assert_eq!(
            outside_export_folder("/home/a/Documents/visit.txt", dir),
            None
        );
        assert_eq!(
            outside_export_folder("/home/a/Documents/2026/visit.pdf", dir),
            None
        );
        for outside in [
            "/home/a/.bashrc",
            "/home/a/.config/autostart/x.desktop",
            "/tmp/visit.txt",
            "/home/a/Documents",
            "/home/a/DocumentsX/visit.txt",
            "/home/a/Documents/../.bashrc",
        ] {
            let why = outside_export_folder(outside, dir).expect(outside);
            assert!(why.contains(dir) && why.contains("--export-dir"), "{why}");
        }
    }
}
