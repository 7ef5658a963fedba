//! The review gate and the export that follows it.
//!
//! Review shows no copy, save or export control at all — not disabled,
//! absent — because the note is not a note until it is attested. Export
//! exists only once an attestation came back from the backend.

use super::{chip, field};
use crate::app::attest_blocker;
use crate::state::{SectionStatus, UiCommand, ViewState};
use crate::tokens::Tokens;
use egui::RichText;
use tacet_core::review::ATTESTATION_STATEMENT;

pub fn show(
    ui: &mut egui::Ui,
    st: &mut ViewState,
    t: &Tokens,
    scroll_to_focus: &mut bool,
    out: &mut Vec<UiCommand>,
) {
    ui.horizontal(|ui| {
        ui.label(RichText::new("Review").size(t.text_title).strong());
        let open = st.work.unresolved();
        if open > 0 {
            chip(
                ui,
                t,
                &format!("{open} section(s) need review"),
                t.palette.warning,
            );
        } else {
            chip(ui, t, "every section reviewed", t.palette.success);
        }
    });
    ui.label(
        RichText::new("Accept or edit every section, then attest. Nothing can be copied or exported before you attest.")
            .color(t.palette.text_weak),
    );
    ui.add_space(t.space_s);
    let attest_height = 170.0;
    let height = (ui.available_height() - attest_height).max(200.0);
    ui.columns(2, |cols| {
        let ui = &mut cols[0];
        egui::ScrollArea::vertical()
            .id_salt("review_sections")
            .max_height(height)
            .show(ui, |ui| {
                for (i, s) in st.work.sections.iter_mut().enumerate() {
                    let focused = st.work.focused == Some(i);
                    let frame = if focused {
                        t.banner(t.palette.accent)
                    } else {
                        t.card()
                    };
                    let r = frame.show(ui, |ui| {
                        ui.set_width(ui.available_width());
                        ui.horizontal(|ui| {
                            ui.label(RichText::new(&s.heading).strong().size(t.text_heading));
                            let colour = match s.status {
                                SectionStatus::NeedsReview => t.palette.warning,
                                SectionStatus::Editing => t.palette.accent,
                                SectionStatus::Accepted | SectionStatus::Edited => {
                                    t.palette.success
                                }
                            };
                            chip(ui, t, s.status.label(), colour);
                        });
                        if !s.guidance.is_empty() {
                            ui.label(
                                RichText::new(&s.guidance)
                                    .color(t.palette.text_weak)
                                    .size(t.text_small),
                            );
                        }
                        if s.status == SectionStatus::Editing {
                            let l = ui.label(format!("Edit {}", s.heading));
                            ui.add(
                                egui::TextEdit::multiline(&mut s.text)
                                    .desired_rows(4)
                                    .desired_width(f32::INFINITY),
                            )
                            .labelled_by(l.id);
                        } else {
                            let colour = if s.status == SectionStatus::NeedsReview {
                                t.palette.ai_draft
                            } else {
                                t.palette.text
                            };
                            let body = if s.text.trim().is_empty() {
                                "(nothing recorded)"
                            } else {
                                s.text.as_str()
                            };
                            ui.label(RichText::new(body).color(colour));
                        }
                        ui.horizontal(|ui| {
                            if s.status == SectionStatus::Editing {
                                if ui.button(format!("Done editing {}", s.heading)).clicked() {
                                    out.push(UiCommand::FinishEdit(i));
                                }
                            } else {
                                if !s.status.is_resolved()
                                    && ui.button(format!("Accept {}", s.heading)).clicked()
                                {
                                    out.push(UiCommand::AcceptSection(i));
                                }
                                if ui.button(format!("Edit {}", s.heading)).clicked() {
                                    out.push(UiCommand::EditSection(i));
                                }
                            }
                        });
                    });
                    if focused && *scroll_to_focus {
                        r.response.scroll_to_me(Some(egui::Align::TOP));
                        *scroll_to_focus = false;
                    }
                    ui.add_space(t.space_s);
                }
            });
        let ui = &mut cols[1];
        t.card().show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.label(RichText::new("Transcript").size(t.text_heading).strong());
            egui::ScrollArea::vertical()
                .id_salt("review_transcript")
                .max_height(height - 40.0)
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
    });
    ui.add_space(t.space_s);
    t.card().show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.label(RichText::new("Attestation").size(t.text_heading).strong());
        ui.checkbox(&mut st.work.attest_checked, ATTESTATION_STATEMENT);
        ui.horizontal(|ui| {
            let pass = field(
                ui,
                "Passphrase (re-enter to sign)",
                &mut st.work.attest_passphrase,
                true,
                240.0,
            );
            let enter = pass.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            let blocker = attest_blocker(&st.work);
            let ready = blocker.is_none() && st.busy.is_none();
            if ui
                .add_enabled(ready, egui::Button::new("Attest and sign (Ctrl+Enter)"))
                .clicked()
                || (enter && ready)
            {
                out.push(UiCommand::Attest);
            }
            if let Some(b) = &st.busy {
                ui.spinner();
                ui.label(&b.label);
            } else if let Some(reason) = &blocker {
                ui.label(RichText::new(reason).color(t.palette.text_weak));
            }
        });
        if let Some(refusal) = &st.work.attest_refusal {
            ui.label(RichText::new(format!("Not attested: {refusal}")).color(t.palette.danger));
        }
    });
}

pub fn export(ui: &mut egui::Ui, st: &mut ViewState, t: &Tokens, out: &mut Vec<UiCommand>) {
    let Some(attested) = &st.work.attested else {
        // Without an attestation there is nothing to export and no control.
        ui.label("This note has not been attested.");
        return;
    };
    ui.horizontal(|ui| {
        ui.label(RichText::new("Export").size(t.text_title).strong());
        chip(ui, t, "attested", t.palette.success);
        ui.label(
            RichText::new(format!(
                "note sha256 {}…",
                &attested.note_sha256_hex[..16.min(attested.note_sha256_hex.len())]
            ))
            .color(t.palette.text_weak)
            .monospace(),
        );
    });
    ui.add_space(t.space_s);
    if let Some(receipt) = &st.work.receipt {
        t.banner(t.palette.success).show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.label(RichText::new("Session destroyed").size(t.text_heading).strong().color(t.palette.success));
            ui.label(format!(
                "Its recording, transcript, draft and key are gone: {} sealed records destroyed with key {}.",
                receipt.destroyed_ciphertexts, receipt.key_id_hex
            ));
            ui.horizontal(|ui| {
                ui.label("Deletion receipt");
                ui.monospace(RichText::new(&receipt.receipt_id).strong());
                ui.label(RichText::new(format!("(audit record {})", receipt.audit_seq)).color(t.palette.text_weak));
            });
            if let Some(what) = &st.work.last_export {
                ui.label(what);
            }
            ui.label(RichText::new("The attested note stays on this screen until you press Finish.").color(t.palette.text_weak));
            if ui.button("Finish").clicked() {
                out.push(UiCommand::FinishSession);
            }
        });
    } else {
        ui.label(
            RichText::new("The first copy or save exports the note and destroys the session's recording, transcript and draft.")
                .color(t.palette.text_weak),
        );
    }
    ui.add_space(t.space_s);
    let busy = st.busy.is_some();
    ui.columns(2, |cols| {
        let ui = &mut cols[0];
        t.card().show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.label(
                RichText::new("Copy to the clipboard")
                    .size(t.text_heading)
                    .strong(),
            );
            if ui
                .add_enabled(!busy, egui::Button::new("Copy whole note"))
                .clicked()
            {
                out.push(UiCommand::CopyNote);
            }
            ui.horizontal_wrapped(|ui| {
                for (i, (h, _)) in attested.sections.iter().enumerate() {
                    if ui
                        .add_enabled(!busy, egui::Button::new(format!("Copy {h}")))
                        .clicked()
                    {
                        out.push(UiCommand::CopySection(i));
                    }
                }
            });
            ui.label(
                RichText::new(format!(
                    "The clipboard is cleared {} s after a copy.",
                    st.settings.clipboard_clear_s
                ))
                .color(t.palette.text_weak)
                .size(t.text_small),
            );
            if st.work.receipt.is_none() {
                ui.add_space(t.space_m);
                ui.label(
                    RichText::new("Save to a file")
                        .size(t.text_heading)
                        .strong(),
                );
                ui.add_enabled_ui(!busy, |ui| {
                    field(
                        ui,
                        "Save to (path of a new file)",
                        &mut st.work.save_path,
                        false,
                        360.0,
                    );
                });
                if ui
                    .add_enabled(!busy, egui::Button::new("Save as text"))
                    .clicked()
                {
                    out.push(UiCommand::SaveText);
                }
            }
            if let Some(b) = &st.busy {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label(&b.label);
                });
            }
        });
        let ui = &mut cols[1];
        t.card().show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.label(
                RichText::new("The attested note")
                    .size(t.text_heading)
                    .strong(),
            );
            egui::ScrollArea::vertical()
                .id_salt("attested_note")
                .max_height(360.0)
                .show(ui, |ui| {
                    ui.monospace(&attested.text);
                });
        });
    });
}
