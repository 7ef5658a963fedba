//! The clinician's screens before review: the session list, a new session
//! with its consent, and the draft as it is written (the Record screen is
//! in `record.rs`).

use super::{busy_line, chip, field, format_ms};
use crate::state::{UiCommand, ViewState};
use crate::tokens::Tokens;
use egui::RichText;
use tacet_core::SessionState;

/// Read aloud before anything is recorded.
pub const CONSENT_SCRIPT: &str = "I use Tacet, an assistant that runs only on this computer, to help me write my notes. \
With your permission it will transcribe our conversation and draft a note that I review and correct myself. \
Nothing leaves this computer, and the recording and transcript are destroyed once the note is finished. \
Is that all right with you?";

pub fn sessions(ui: &mut egui::Ui, st: &mut ViewState, t: &Tokens, out: &mut Vec<UiCommand>) {
    ui.horizontal(|ui| {
        ui.label(RichText::new("Sessions").size(t.text_title).strong());
        ui.add_space(t.space_l);
        if ui.button("Start a new session").clicked() {
            out.push(UiCommand::StartNewSession);
        }
        if ui.button("Refresh").clicked() {
            out.push(UiCommand::RefreshSessions);
        }
    });
    ui.add_space(t.space_m);
    let interrupted = st
        .sessions
        .iter()
        .filter(|s| matches!(s.state, SessionState::Recording | SessionState::Interrupted))
        .count();
    if interrupted > 0 && !st.live.is_active() {
        ui.label(
            RichText::new(format!(
                "{interrupted} recording(s) stopped before they were finished (the app or the computer stopped). What was recorded is sealed: open it to transcribe it and draft the note."
            ))
            .color(t.palette.warning),
        );
        ui.add_space(t.space_s);
    }
    t.card().show(ui, |ui| {
        ui.set_width(ui.available_width());
        if st.sessions.is_empty() {
            ui.label("No sessions yet. Start one with “Start a new session”.");
            return;
        }
        egui::ScrollArea::vertical()
            .max_height(360.0)
            .show(ui, |ui| {
                egui::Grid::new("sessions_grid")
                    .striped(true)
                    .spacing([t.space_l, t.space_s])
                    .show(ui, |ui| {
                        for h in [
                            "Session",
                            "State",
                            "Template",
                            "Started",
                            "Owner",
                            "Deletion receipt",
                            "",
                        ] {
                            ui.label(RichText::new(h).strong());
                        }
                        ui.end_row();
                        for s in &st.sessions {
                            // Only ids, codes and times: a session list never shows
                            // patient text, and a destroyed session has none left.
                            ui.monospace(s.id.short());
                            let colour = match s.state {
                                SessionState::Destroyed => t.palette.text_weak,
                                SessionState::Attested | SessionState::Exported => {
                                    t.palette.success
                                }
                                SessionState::Interrupted => t.palette.warning,
                                _ => t.palette.accent,
                            };
                            chip(ui, t, s.state.as_str(), colour);
                            ui.label(&s.template_id);
                            ui.label(format_ms(s.created_at_unix_ms));
                            if mine(st, &s.owner.0) {
                                ui.label("you");
                            } else {
                                ui.label(format!("{} (you cover it)", s.owner.0));
                            }
                            match &s.receipt_id {
                                Some(r) => ui.monospace(r),
                                None => ui.label(RichText::new("—").color(t.palette.text_weak)),
                            };
                            // A session with a transcript and no attested
                            // note is drafted (again) and reviewed; an
                            // attested one goes to its export.
                            let hint = match s.state {
                                SessionState::Recording | SessionState::Interrupted
                                    if !st.live.is_active() =>
                                {
                                    Some("Finish this interrupted recording: transcribe what was sealed, then draft")
                                }
                                SessionState::Transcribed | SessionState::Drafted => {
                                    Some("Draft this session's note and review it")
                                }
                                SessionState::Attested => Some("Copy or save the attested note"),
                                _ => None,
                            };
                            match hint {
                                Some(hint) => {
                                    if ui
                                        .add_enabled(st.busy.is_none(), egui::Button::new("Open"))
                                        .on_hover_text(hint)
                                        .clicked()
                                    {
                                        out.push(UiCommand::OpenSession(s.id));
                                    }
                                }
                                None => {
                                    ui.label("");
                                }
                            }
                            ui.end_row();
                        }
                    });
            });
    });
    ui.add_space(t.space_l);
    share(ui, st, t, out);
    add_colleague(ui, st, t, out);
    super::admin::change_passphrase(ui, st, t, out);
    settings(ui, st, t);
}

fn mine(st: &ViewState, owner: &str) -> bool {
    st.signed_in.as_ref().is_some_and(|s| s.user == owner)
}

/// The owner lets a colleague cover a session (finish, attest and export
/// it while they are away): its key is wrapped to the colleague alone.
fn share(ui: &mut egui::Ui, st: &mut ViewState, t: &Tokens, out: &mut Vec<UiCommand>) {
    egui::CollapsingHeader::new("Share a session with a colleague")
        .id_salt("share_session")
        .show(ui, |ui| {
            ui.label(
                RichText::new("A colleague you name can open the session, finish the note under their own name and export it, until you stop sharing or the session is destroyed. Each change is audited.")
                    .color(t.palette.text_weak),
            );
            let own: Vec<_> = st
                .sessions
                .iter()
                .filter(|s| mine(st, &s.owner.0) && s.state != SessionState::Destroyed)
                .map(|s| s.id)
                .collect();
            if own.is_empty() {
                ui.label("You have no session to share.");
                return;
            }
            ui.horizontal(|ui| {
                let chosen = st.share.session.map(|id| id.short()).unwrap_or_else(|| "choose…".into());
                egui::ComboBox::from_label("Session")
                    .selected_text(chosen)
                    .show_ui(ui, |ui| {
                        for id in &own {
                            ui.selectable_value(&mut st.share.session, Some(*id), id.short());
                        }
                    });
            });
            field(ui, "Colleague's user name", &mut st.share.with, false, 220.0);
            let busy = st.busy.is_some();
            ui.horizontal(|ui| {
                if ui.add_enabled(!busy, egui::Button::new("Share")).clicked() {
                    out.push(UiCommand::ShareSession(false));
                }
                if ui.add_enabled(!busy, egui::Button::new("Stop sharing")).clicked() {
                    out.push(UiCommand::ShareSession(true));
                }
            });
        });
}

/// A clinician enrols a new clinician: only a clinician holds the data key
/// that is wrapped for the newcomer (an admin never does).
fn add_colleague(ui: &mut egui::Ui, st: &mut ViewState, t: &Tokens, out: &mut Vec<UiCommand>) {
    egui::CollapsingHeader::new("Add a colleague")
        .id_salt("add_colleague")
        .show(ui, |ui| {
            st.admin.new_user.role = tacet_core::Role::Clinician;
            ui.label(
                RichText::new("Enrol a new clinician: they get their own passphrase and access to the practice's sessions. The addition is audited.")
                    .color(t.palette.text_weak),
            );
            super::admin::new_user_fields(ui, st, t, out, "Add colleague");
            if let Some(done) = &st.admin.user_added {
                ui.label(RichText::new(done).color(t.palette.success));
            }
        });
}

/// Auto-lock and clipboard timing.
pub fn settings(ui: &mut egui::Ui, st: &mut ViewState, t: &Tokens) {
    egui::CollapsingHeader::new("Settings").show(ui, |ui| {
        ui.horizontal(|ui| {
            let l = ui.label("Lock after this many minutes without activity (0 = never)");
            ui.add(egui::DragValue::new(&mut st.settings.auto_lock_minutes).range(0..=120))
                .labelled_by(l.id);
        });
        ui.horizontal(|ui| {
            let l = ui.label("Clear the clipboard this many seconds after a copy (0 = never)");
            ui.add(egui::DragValue::new(&mut st.settings.clipboard_clear_s).range(0..=600))
                .labelled_by(l.id);
        });
        super::hint(ui, t, "Ctrl+Shift+R records · Ctrl+Shift+P pauses · Ctrl+Shift+S stops · Ctrl+R transcribes a WAV · F / Shift+F move between sections that need review · Ctrl+Enter attests");
    });
}

pub fn new_session(ui: &mut egui::Ui, st: &mut ViewState, t: &Tokens, out: &mut Vec<UiCommand>) {
    ui.label(RichText::new("New session").size(t.text_title).strong());
    ui.add_space(t.space_m);
    let answered = st.new_session.consent.is_some();
    ui.columns(2, |cols| {
        let ui = &mut cols[0];
        t.card().show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.label(RichText::new("Note template").size(t.text_heading).strong());
            ui.add_enabled_ui(!answered, |ui| {
                for tpl in &st.templates {
                    ui.radio_value(
                        &mut st.new_session.template_id,
                        tpl.id.clone(),
                        format!("{} ({})", tpl.name, tpl.id),
                    );
                }
            });
            if st.templates.is_empty() {
                ui.label(RichText::new("No templates are installed.").color(t.palette.danger));
            }
            ui.add_space(t.space_m);
            ui.add_enabled_ui(!answered, |ui| {
                field(
                    ui,
                    "Patient reference (chart number or initials; stored encrypted)",
                    &mut st.new_session.patient_ref,
                    false,
                    320.0,
                );
            });
        });
        let ui = &mut cols[1];
        t.card().show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.label(RichText::new("Consent").size(t.text_heading).strong());
            ui.label(RichText::new("Read this to the patient:").color(t.palette.text_weak));
            egui::Frame::new()
                .fill(t.palette.panel)
                .corner_radius(egui::CornerRadius::same(t.radius_s))
                .inner_margin(egui::Margin::same(t.space_s as i8))
                .show(ui, |ui| {
                    ui.label(
                        RichText::new(st.consent_script.as_deref().unwrap_or(CONSENT_SCRIPT))
                            .italics(),
                    );
                });
            ui.add_space(t.space_m);
            match st.new_session.consent {
                None => {
                    let busy = st.busy.is_some();
                    ui.horizontal(|ui| {
                        if ui
                            .add_enabled(!busy, egui::Button::new("Yes, the patient consents"))
                            .clicked()
                        {
                            out.push(UiCommand::Consent(true));
                        }
                        if ui
                            .add_enabled(!busy, egui::Button::new("No, the patient declines"))
                            .clicked()
                        {
                            out.push(UiCommand::Consent(false));
                        }
                    });
                    super::hint(ui, t, "The answer is recorded in the audit log either way.");
                }
                Some(true) => {
                    chip(ui, t, "consent given", t.palette.success);
                }
                Some(false) => {
                    // No recording control exists for a session without consent.
                    chip(ui, t, "consent declined", t.palette.danger);
                    ui.label("Nothing will be recorded for this visit.");
                    if ui.button("Start over").clicked() {
                        out.push(UiCommand::StartNewSession);
                    }
                }
            }
        });
    });
}

pub fn draft(
    ui: &mut egui::Ui,
    st: &mut ViewState,
    t: &Tokens,
    now_s: f64,
    out: &mut Vec<UiCommand>,
) {
    ui.label(RichText::new("Draft").size(t.text_title).strong());
    ui.label(
        RichText::new("The local language model writes a draft; you review every section next.")
            .color(t.palette.text_weak),
    );
    ui.add_space(t.space_s);
    let busy = st.busy.is_some();
    ui.horizontal(|ui| {
        if busy {
            if ui.button("Cancel drafting").clicked() {
                out.push(UiCommand::CancelDraft);
            }
        } else if ui.button("Write the draft").clicked() {
            out.push(UiCommand::StartDraft);
        }
    });
    busy_line(ui, st, t, now_s);
    ui.add_space(t.space_s);
    let height = ui.available_height();
    ui.columns(2, |cols| {
        t.card().show(&mut cols[0], |ui| {
            ui.set_width(ui.available_width());
            ui.label(RichText::new("Transcript").size(t.text_heading).strong());
            egui::ScrollArea::vertical()
                .id_salt("draft_transcript")
                .max_height(height - 60.0)
                .show(ui, |ui| {
                    let text = st
                        .work
                        .transcript
                        .as_ref()
                        .map(|x| x.to_text())
                        .unwrap_or_default();
                    ui.label(text);
                });
        });
        t.card().show(&mut cols[1], |ui| {
            ui.set_width(ui.available_width());
            ui.label(
                RichText::new("Draft (AI-written, not reviewed)")
                    .size(t.text_heading)
                    .strong()
                    .color(t.palette.ai_draft),
            );
            egui::ScrollArea::vertical()
                .id_salt("live_draft")
                .stick_to_bottom(true)
                .max_height(height - 60.0)
                .show(ui, |ui| {
                    if st.work.live_draft.is_empty() {
                        ui.label(
                            RichText::new("Waiting for the model…").color(t.palette.text_weak),
                        );
                    } else {
                        ui.label(RichText::new(&st.work.live_draft).color(t.palette.ai_draft));
                    }
                });
        });
    });
}
