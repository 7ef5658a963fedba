//! The admin's screen: audit verification, the latest checkpoint, the
//! deletion log and the installed models. It renders only [`AdminView`],
//! which has no field that could hold patient text.
//!
//! [`AdminView`]: crate::state::AdminView

use super::{chip, format_ms};
use crate::state::{UiCommand, ViewState};
use crate::tokens::Tokens;
use egui::RichText;

pub fn show(ui: &mut egui::Ui, st: &mut ViewState, t: &Tokens, out: &mut Vec<UiCommand>) {
    ui.label(
        RichText::new("Audit and models")
            .size(t.text_title)
            .strong(),
    );
    ui.label(
        RichText::new("Admins manage the vault; they never see patient text.")
            .color(t.palette.text_weak),
    );
    ui.add_space(t.space_m);
    egui::ScrollArea::vertical()
        .id_salt("admin")
        .show(ui, |ui| {
            ui.columns(2, |cols| {
                audit(&mut cols[0], st, t, out);
                checkpoint(&mut cols[1], st, t, out);
            });
            ui.add_space(t.space_m);
            deletions(ui, st, t, out);
            ui.add_space(t.space_m);
            models(ui, st, t, out);
            ui.add_space(t.space_m);
            super::clinician::settings(ui, st, t);
        });
}

fn audit(ui: &mut egui::Ui, st: &ViewState, t: &Tokens, out: &mut Vec<UiCommand>) {
    t.card().show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.label(RichText::new("Audit log").size(t.text_heading).strong());
        ui.horizontal(|ui| {
            if ui.add_enabled(st.busy.is_none(), egui::Button::new("Verify audit log")).clicked() {
                out.push(UiCommand::VerifyAudit);
            }
        });
        if let Some(b) = &st.busy {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(&b.label);
            });
        }
        match &st.admin.verification {
            None => {
                ui.label(RichText::new("Not verified in this session yet.").color(t.palette.text_weak));
            }
            Some(v) if v.is_ok() => {
                chip(ui, t, "VERIFIED", t.palette.success);
                ui.label(format!(
                    "Every record, hash-chain link and signed checkpoint is consistent: {} records, {} checkpoint(s) checked.",
                    v.records, v.checkpoints_checked
                ));
                ui.label(RichText::new(format!("root {}", v.root_hex)).monospace().size(t.text_small));
            }
            Some(v) => {
                chip(ui, t, "FAILED", t.palette.danger);
                ui.label(format!("{} problem(s) in {} records:", v.problems.len(), v.records));
                for p in &v.problems {
                    ui.label(RichText::new(format!("• {p}")).color(t.palette.danger));
                }
            }
        }
    });
}

fn checkpoint(ui: &mut egui::Ui, st: &ViewState, t: &Tokens, out: &mut Vec<UiCommand>) {
    t.card().show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.label(
            RichText::new("Latest checkpoint")
                .size(t.text_heading)
                .strong(),
        );
        ui.horizontal(|ui| {
            if ui.button("Show latest checkpoint").clicked() {
                out.push(UiCommand::LoadCheckpoint);
            }
            if st.admin.checkpoint.is_some() && ui.button("Copy checkpoint").clicked() {
                out.push(UiCommand::CopyCheckpoint);
            }
        });
        match &st.admin.checkpoint {
            Some(c) => {
                egui::ScrollArea::horizontal()
                    .id_salt("checkpoint_text")
                    .show(ui, |ui| {
                        ui.add(
                            egui::Label::new(RichText::new(c).monospace().size(t.text_small))
                                .extend(),
                        );
                    });
            }
            None => {
                ui.label(
                    RichText::new(
                        "Print or save the signed checkpoint to verify the log against later.",
                    )
                    .color(t.palette.text_weak),
                );
            }
        }
    });
}

fn deletions(ui: &mut egui::Ui, st: &ViewState, t: &Tokens, out: &mut Vec<UiCommand>) {
    t.card().show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.horizontal(|ui| {
            ui.label(RichText::new("Deletion log").size(t.text_heading).strong());
            if ui.button("Refresh deletion log").clicked() {
                out.push(UiCommand::LoadDeletions);
            }
        });
        match &st.admin.deletions {
            None => {
                ui.label(RichText::new("Loading…").color(t.palette.text_weak));
            }
            Some(list) if list.is_empty() => {
                ui.label("No sessions have been destroyed yet.");
            }
            Some(list) => {
                egui::Grid::new("deletions_grid")
                    .striped(true)
                    .spacing([t.space_m, t.space_xs])
                    .show(ui, |ui| {
                        for h in [
                            "Receipt",
                            "Session",
                            "By",
                            "Why",
                            "When",
                            "Records destroyed",
                            "Key",
                            "Audit record",
                        ] {
                            ui.label(RichText::new(h).strong());
                        }
                        ui.end_row();
                        for d in list {
                            ui.monospace(&d.receipt_id);
                            ui.monospace(d.session_hex.get(..8).unwrap_or(&d.session_hex));
                            ui.label(&d.actor);
                            ui.label(&d.trigger);
                            ui.label(format_ms(d.at_unix_ms));
                            ui.label(d.destroyed_ciphertexts.to_string());
                            ui.monospace(d.key_id_hex.get(..12).unwrap_or(&d.key_id_hex));
                            ui.label(d.audit_seq.to_string());
                            ui.end_row();
                        }
                    });
            }
        }
    });
}

fn models(ui: &mut egui::Ui, st: &ViewState, t: &Tokens, out: &mut Vec<UiCommand>) {
    t.card().show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.horizontal(|ui| {
            ui.label(
                RichText::new("Installed models")
                    .size(t.text_heading)
                    .strong(),
            );
            if ui.button("Refresh models").clicked() {
                out.push(UiCommand::LoadModels);
            }
        });
        match &st.admin.models {
            None => {
                ui.label(RichText::new("Loading…").color(t.palette.text_weak));
            }
            Some(list) if list.is_empty() => {
                ui.label("No models are installed. Import them with `tacet models import`.");
            }
            Some(list) => {
                egui::Grid::new("models_grid")
                    .striped(true)
                    .spacing([t.space_m, t.space_xs])
                    .show(ui, |ui| {
                        for h in ["Model", "Role", "Size", "SHA-256", "Licence"] {
                            ui.label(RichText::new(h).strong());
                        }
                        ui.end_row();
                        for m in list {
                            ui.label(&m.id);
                            ui.label(&m.role);
                            ui.label(format!("{:.1} MB", m.size_bytes as f64 / 1e6));
                            ui.monospace(&m.sha256).on_hover_text(&m.sha256);
                            ui.label(&m.licence);
                            ui.end_row();
                        }
                    });
            }
        }
    });
}
