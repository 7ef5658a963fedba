//! The admin's screen: audit verification, the latest checkpoint, the
//! installation (compliance) report, the deletion log, the model manager
//! (size, shortened SHA-256, licence, verify, import from a path), the
//! retention and grace settings, and people and roles. It renders only
//! [`AdminView`], which has no field that could hold patient text: the
//! report is built from facts that have none, and users are names and roles.
//!
//! Every form is checked here first (the bounds `tacet settings` applies,
//! a passphrase typed twice), so a plain mistake is said at once; the
//! backend checks again, as the CLI does, because it is the authority. An
//! admin's "new clinician" is not a form but an explanation: only a
//! clinician holds the data key a newcomer's access is wrapped from, so the
//! same form lives on the clinician's session list as "Add a colleague".
//!
//! The report arrives as Markdown — the same text `tacet compliance
//! report` prints, from the same composition — and is shown line by line
//! with headings, bullets and table rows styled from the tokens, rather
//! than through a Markdown widget: what the admin reads is exactly what
//! gets saved. A log that failed verification is said above the report, in
//! the danger colour, before anything else.
//!
//! [`AdminView`]: crate::state::AdminView

use super::{chip, field, format_ms};
use crate::backend::ReportFormat;
use crate::state::{UiCommand, ViewState};
use crate::tokens::Tokens;
use egui::RichText;
use tacet_core::Role;

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
            compliance(ui, st, t, out);
            ui.add_space(t.space_m);
            deletions(ui, st, t, out);
            ui.add_space(t.space_m);
            models(ui, st, t, out);
            ui.add_space(t.space_m);
            retention(ui, st, t, out);
            ui.add_space(t.space_m);
            users(ui, st, t, out);
            ui.add_space(t.space_m);
            support_log(ui, st, t, out);
            ui.add_space(t.space_m);
            super::clinician::settings(ui, st, t);
        });
}

/// Where the support log is, and a copy of it saved for whoever supports
/// the practice (ids, codes and durations only; no patient text).
fn support_log(ui: &mut egui::Ui, st: &mut ViewState, t: &Tokens, out: &mut Vec<UiCommand>) {
    t.card().show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.label(RichText::new("Support log").size(t.text_heading).strong());
        let dir = if st.settings.support_log_dir.is_empty() {
            "the data folder's logs folder".to_string()
        } else {
            st.settings.support_log_dir.clone()
        };
        ui.label(
            RichText::new(format!(
                "Each start and step, with how long it took and how it ended, is written to {dir} (one file a day, 14 days kept, readable by this account only). It holds codes and durations, never patient text, names or passphrases."
            ))
            .color(t.palette.text_weak),
        );
        ui.add_space(t.space_s);
        ui.horizontal_wrapped(|ui| {
            field(
                ui,
                "Save a copy of the support log to (path of a new file)",
                &mut st.admin.support_log_path,
                false,
                360.0,
            );
            if ui
                .add_enabled(st.busy.is_none(), egui::Button::new("Save a copy for support"))
                .clicked()
            {
                out.push(UiCommand::SaveSupportLog);
            }
        });
        if let Some(saved) = &st.admin.support_log_saved {
            ui.label(RichText::new(saved).color(t.palette.success));
        }
    });
}

fn audit(ui: &mut egui::Ui, st: &mut ViewState, t: &Tokens, out: &mut Vec<UiCommand>) {
    t.card().show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.label(RichText::new("Audit log").size(t.text_heading).strong());
        ui.horizontal(|ui| {
            if ui.add_enabled(st.busy.is_none(), egui::Button::new("Verify audit log")).clicked() {
                out.push(UiCommand::VerifyAudit);
            }
        });
        ui.label(
            RichText::new(
                "To check every record's chain tag too, enter the audit chain key kept at setup first (it is not stored).",
            )
            .color(t.palette.text_weak),
        );
        let label = ui.label("Audit chain key");
        ui.add(
            egui::TextEdit::singleline(&mut st.admin.chain_key_input)
                .password(true)
                .hint_text("tacet-audit-chain-key-1:…")
                .desired_width(ui.available_width().min(560.0)),
        )
        .labelled_by(label.id);
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
                if let Some(a) = &v.anchors {
                    ui.label(RichText::new(format!("Anchors: {a}.")).color(t.palette.text_weak));
                }
                if let Some(c) = &v.chain {
                    ui.label(RichText::new(format!("Chain: {c}.")).color(t.palette.text_weak));
                }
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

/// The visible text of the warning shown when the audit log failed.
pub const AUDIT_FAILED_WARNING: &str = "The audit log FAILED verification";

fn compliance(ui: &mut egui::Ui, st: &mut ViewState, t: &Tokens, out: &mut Vec<UiCommand>) {
    let card = t.card().show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.horizontal(|ui| {
            ui.label(
                RichText::new("Compliance report")
                    .size(t.text_heading)
                    .strong(),
            );
            if ui
                .add_enabled(
                    st.busy.is_none(),
                    egui::Button::new("Write compliance report"),
                )
                .clicked()
            {
                out.push(UiCommand::ComplianceReport);
            }
        });
        let Some(report) = &st.admin.report else {
            ui.label(
                RichText::new(
                    "The installation report for your records and auditors: models, encryption, retention, users and the audit log, read from this installation now. It holds no patient text; writing it is audited.",
                )
                .color(t.palette.text_weak),
            );
            return;
        };
        if report.audit_verified {
            chip(ui, t, "audit log verified", t.palette.success);
        } else {
            t.banner(t.palette.danger).show(ui, |ui| {
                ui.set_width(ui.available_width());
                ui.label(
                    RichText::new(AUDIT_FAILED_WARNING)
                        .size(t.text_heading)
                        .strong()
                        .color(t.palette.danger),
                );
                ui.label(
                    "Treat this installation as possibly tampered with until an administrator has investigated. The report lists the problems under \"Audit log\".",
                );
            });
        }
        ui.add_space(t.space_s);
        egui::Frame::new()
            .fill(t.palette.field)
            .stroke(egui::Stroke::new(1.0, t.palette.border))
            .corner_radius(egui::CornerRadius::same(t.radius_s))
            .inner_margin(egui::Margin::same(t.space_m as i8))
            .show(ui, |ui| {
                egui::ScrollArea::vertical()
                    .id_salt("compliance_report")
                    .max_height(380.0)
                    .auto_shrink([false, true])
                    .show(ui, |ui| markdown(ui, t, &report.markdown));
            });
        ui.add_space(t.space_s);
        ui.horizontal_wrapped(|ui| {
            field(
                ui,
                "Save report to (path of a new file)",
                &mut st.admin.report_path,
                false,
                360.0,
            );
            super::browse_button(ui, crate::picker::PathField::SaveReport, out);
            let idle = st.busy.is_none();
            if ui
                .add_enabled(idle, egui::Button::new("Save as Markdown…"))
                .clicked()
            {
                out.push(UiCommand::SaveReport(ReportFormat::Markdown));
            }
            if ui
                .add_enabled(idle, egui::Button::new("Save as PDF…"))
                .clicked()
            {
                out.push(UiCommand::SaveReport(ReportFormat::Pdf));
            }
        });
        super::hint(ui, t, "A new file is created, readable by you only; an existing file is never overwritten.");
        if let Some(saved) = &st.admin.report_saved {
            ui.label(RichText::new(saved).color(t.palette.success));
        }
    });
    if std::mem::take(&mut st.admin.scroll_to_report) {
        card.response.scroll_to_me(Some(egui::Align::TOP));
    }
}

/// Markdown's inline marks, dropped for display; an arrow the default
/// fonts lack, spelled out.
fn plain(s: &str) -> String {
    s.replace("**", "").replace('`', "").replace('→', "->")
}

/// The report's Markdown, line by line: headings, quotes (the warning),
/// bullets, table rows and code (the checkpoint) styled from the tokens.
fn markdown(ui: &mut egui::Ui, t: &Tokens, md: &str) {
    let mut in_code = false;
    let mut header_row = false;
    for (i, line) in md.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            ui.label(RichText::new(line).monospace().size(t.text_small));
            continue;
        }
        let trimmed = line.trim();
        if trimmed.is_empty() {
            ui.add_space(t.space_xs);
            header_row = true;
            continue;
        }
        if let Some(h) = line.strip_prefix("# ") {
            ui.label(RichText::new(plain(h)).size(t.text_title).strong());
        } else if let Some(h) = line.strip_prefix("## ") {
            ui.add_space(t.space_s);
            ui.label(RichText::new(plain(h)).size(t.text_heading).strong());
        } else if let Some(q) = line.strip_prefix("> ") {
            let colour = if q.contains("WARNING") {
                t.palette.danger
            } else {
                t.palette.text
            };
            ui.label(RichText::new(plain(q)).strong().color(colour));
        } else if trimmed.starts_with('|') {
            let cells: Vec<String> = trimmed
                .trim_matches('|')
                .split('|')
                .map(|c| plain(c.trim()))
                .collect();
            if cells
                .iter()
                .all(|c| !c.is_empty() && c.chars().all(|ch| ch == '-' || ch == ':'))
            {
                continue; // the separator under a table's header
            }
            let text = RichText::new(cells.join("  ·  ")).size(t.text_small);
            // The theme fixes the text colour, so `strong` would not show:
            // a header row is set apart by colour.
            ui.label(if header_row {
                text.color(t.palette.accent)
            } else {
                text
            });
            header_row = false;
            continue;
        } else if let Some(b) = line.strip_prefix("- ") {
            ui.label(format!("• {}", plain(b)));
        } else if let Some(b) = line.strip_prefix("  - ") {
            // Nested bullets are the audit log's problems.
            ui.indent(("report_sub_bullet", i), |ui| {
                ui.label(RichText::new(format!("– {}", plain(b))).color(t.palette.danger));
            });
        } else {
            ui.label(plain(line));
        }
        header_row = false;
    }
}

fn checkpoint(ui: &mut egui::Ui, st: &mut ViewState, t: &Tokens, out: &mut Vec<UiCommand>) {
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
        ui.horizontal_wrapped(|ui| {
            field(
                ui,
                "Save checkpoint to (path of a new file)",
                &mut st.admin.checkpoint_path,
                false,
                300.0,
            );
            if ui
                .add_enabled(st.busy.is_none(), egui::Button::new("Save checkpoint…"))
                .clicked()
            {
                out.push(UiCommand::SaveCheckpoint);
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
                            "Verified",
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
                            // A receipt is verified by the whole-log check
                            // (Merkle tree, hash chain, signed checkpoints)
                            // when that check covered its record.
                            match &st.admin.verification {
                                Some(v) if !v.is_ok() => {
                                    chip(ui, t, "log FAILED", t.palette.danger);
                                }
                                Some(v) if d.audit_seq < v.records => {
                                    chip(ui, t, "verified", t.palette.success);
                                }
                                _ => {
                                    ui.label(
                                        RichText::new("verify the log").color(t.palette.text_weak),
                                    );
                                }
                            }
                            ui.end_row();
                        }
                    });
            }
        }
    });
}

fn models(ui: &mut egui::Ui, st: &mut ViewState, t: &Tokens, out: &mut Vec<UiCommand>) {
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
                        for h in ["Model", "Role", "Size", "SHA-256", "Licence", ""] {
                            ui.label(RichText::new(h).strong());
                        }
                        ui.end_row();
                        let idle = st.busy.is_none();
                        for m in list {
                            ui.label(&m.id);
                            ui.label(&m.role);
                            ui.label(human_size(m.size_bytes));
                            ui.monospace(short_hash(&m.sha256))
                                .on_hover_text(&m.sha256);
                            ui.label(&m.licence);
                            let verify = egui::Button::new("Verify");
                            let r = ui.add_enabled(idle, verify);
                            r.widget_info(|| {
                                egui::WidgetInfo::labeled(
                                    egui::Role::Button,
                                    idle,
                                    format!("Verify {}", m.id),
                                )
                            });
                            if r.clicked() {
                                out.push(UiCommand::VerifyModel(m.id.clone()));
                            }
                            ui.end_row();
                        }
                    });
            }
        }
        for (id, ok, message) in &st.admin.model_checks {
            ui.horizontal_wrapped(|ui| {
                if *ok {
                    chip(ui, t, "VERIFIED", t.palette.success);
                    ui.label(message);
                } else {
                    chip(ui, t, "FAILED", t.palette.danger);
                    ui.label(RichText::new(message).color(t.palette.danger));
                }
            })
            .response
            .on_hover_text(id);
        }
        ui.add_space(t.space_s);
        ui.horizontal_wrapped(|ui| {
            field(
                ui,
                "Import a model from (path of a file, directory or wheel)",
                &mut st.admin.import_path,
                false,
                360.0,
            );
            if ui
                .add_enabled(st.busy.is_none(), egui::Button::new("Import from file…"))
                .clicked()
            {
                out.push(UiCommand::ImportModel);
            }
        });
        ui.checkbox(
            &mut st.admin.import_q8_0,
            "8-bit speech model (q8_0, for a CTranslate2 whisper export)",
        )
        .on_hover_text(
            "Same words on Tacet's test sets; about half the transcription time on a CPU with \
             AVX-512 VNNI, slower than the default on others (docs/BENCHMARKS.md).",
        );
        super::hint(ui, t, "The file's SHA-256 is checked against Tacet's manifest before anything reads it; a wrong or truncated file is refused. Imports are audited.");
        if let Some(done) = &st.admin.import_result {
            ui.label(RichText::new(done).color(t.palette.success));
        }
    });
}

/// A size as people read it (decimal units, as disk tools show them).
pub fn human_size(size_bytes: u64) -> String {
    let b = size_bytes as f64;
    if size_bytes >= 1_000_000_000 {
        format!("{:.2} GB", b / 1e9)
    } else if size_bytes >= 1_000_000 {
        format!("{:.1} MB", b / 1e6)
    } else if size_bytes >= 1_000 {
        format!("{:.1} kB", b / 1e3)
    } else {
        format!("{size_bytes} bytes")
    }
}

/// The first 12 hex digits of a hash, followed by an ellipsis.
pub fn short_hash(sha256: &str) -> String {
    match sha256.get(..12) {
        Some(head) if sha256.len() > 12 => format!("{head}…"),
        _ => sha256.to_string(),
    }
}

fn retention(ui: &mut egui::Ui, st: &mut ViewState, t: &Tokens, out: &mut Vec<UiCommand>) {
    t.card().show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.horizontal(|ui| {
            ui.label(
                RichText::new("Retention and grace")
                    .size(t.text_heading)
                    .strong(),
            );
            if ui.button("Refresh retention settings").clicked() {
                out.push(UiCommand::LoadRetention);
            }
        });
        let Some(r) = &st.admin.retention else {
            ui.label(RichText::new("Loading…").color(t.palette.text_weak));
            return;
        };
        ui.label(format!(
            "Sessions never exported are destroyed {} day(s) after they were started; exported sessions are destroyed {} hour(s) after export.",
            r.retention_days, r.grace_hours
        ));
        ui.label(
            RichText::new(match r.last_run_unix_ms {
                Some(ms) => format!("Retention last ran {} UTC.", format_ms(ms)),
                None => "Retention has not run yet (it runs at every unlock).".to_string(),
            })
            .color(t.palette.text_weak),
        );
        ui.add_space(t.space_s);
        ui.horizontal_wrapped(|ui| {
            field(
                ui,
                "Destroy unexported sessions after (days)",
                &mut st.admin.retention_days_input,
                false,
                80.0,
            );
            field(
                ui,
                "Keep exported sessions for (hours, 0 to 72)",
                &mut st.admin.grace_hours_input,
                false,
                80.0,
            );
            if ui
                .add_enabled(
                    st.busy.is_none(),
                    egui::Button::new("Save retention settings"),
                )
                .clicked()
            {
                out.push(UiCommand::SaveRetention);
            }
        });
        super::hint(ui, t, "At least one hour (0.042 days) for unexported sessions; 0 to 72 hours after export. A change is audited.");
        ui.add_space(t.space_s);
        ui.label(match &r.anchor_dir {
            Some(d) => format!("Signed audit checkpoints are anchored in {d}; verification reads them there."),
            None => "Audit checkpoints are not anchored outside this computer yet: a rewritten or rolled-back log is caught only against checkpoints kept elsewhere.".to_string(),
        });
        ui.horizontal_wrapped(|ui| {
            field(
                ui,
                "Anchor folder (outside the data folder)",
                &mut st.admin.anchor_input,
                false,
                320.0,
            );
            super::browse_button(ui, crate::picker::PathField::AnchorFolder, out);
            if ui
                .add_enabled(
                    st.busy.is_none(),
                    egui::Button::new("Anchor the audit log here"),
                )
                .clicked()
            {
                out.push(UiCommand::SaveAnchor);
            }
        });
        if let Some(saved) = &st.admin.retention_saved {
            ui.label(RichText::new(saved).color(t.palette.success));
        }
    });
}

fn users(ui: &mut egui::Ui, st: &mut ViewState, t: &Tokens, out: &mut Vec<UiCommand>) {
    t.card().show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.horizontal(|ui| {
            ui.label(
                RichText::new("People and roles")
                    .size(t.text_heading)
                    .strong(),
            );
            if ui.button("Refresh users").clicked() {
                out.push(UiCommand::LoadUsers);
            }
        });
        match &st.admin.users {
            None => {
                ui.label(RichText::new("Loading…").color(t.palette.text_weak));
            }
            Some(list) => {
                egui::Grid::new("users_grid")
                    .striped(true)
                    .spacing([t.space_m, t.space_xs])
                    .show(ui, |ui| {
                        for h in ["User", "Role", ""] {
                            ui.label(RichText::new(h).strong());
                        }
                        ui.end_row();
                        let me = st.signed_in.as_ref().map(|s| s.user.as_str());
                        for u in list {
                            ui.label(&u.name);
                            ui.label(u.role.as_str());
                            if Some(u.name.as_str()) != me {
                                if ui
                                    .add_enabled(
                                        st.busy.is_none(),
                                        egui::Button::new(format!("Remove {}", u.name)),
                                    )
                                    .clicked()
                                {
                                    out.push(UiCommand::RemoveUser(u.name.clone()));
                                }
                            } else {
                                ui.label(RichText::new("you").color(t.palette.text_weak));
                            }
                            ui.end_row();
                        }
                    });
            }
        }
        ui.add_space(t.space_s);
        ui.label(RichText::new("New user").strong());
        ui.horizontal(|ui| {
            ui.radio_value(&mut st.admin.new_user.role, Role::Admin, "Admin");
            ui.radio_value(&mut st.admin.new_user.role, Role::Clinician, "Clinician");
        });
        if st.admin.new_user.role == Role::Clinician {
            ui.label(RichText::new(CLINICIAN_ENROLMENT).color(t.palette.text_weak));
        } else {
            new_user_fields(ui, st, t, out, "Add user");
        }
        if let Some(done) = &st.admin.user_added {
            ui.label(RichText::new(done).color(t.palette.success));
        }
        super::hint(ui, t, "Removing an account is audited. A clinician who still owns sessions cannot be removed until they are exported or discarded, and the last clinician cannot be removed.");
        ui.add_space(t.space_s);
        change_passphrase(ui, st, t, out);
    });
}

/// The signed-in user changes their own passphrase (admin screen and the
/// clinician's session list).
pub(crate) fn change_passphrase(
    ui: &mut egui::Ui,
    st: &mut ViewState,
    t: &Tokens,
    out: &mut Vec<UiCommand>,
) {
    egui::CollapsingHeader::new("My passphrase")
        .id_salt("change_passphrase")
        .show(ui, |ui| {
            let form = &mut st.admin.passwd;
            egui::Grid::new("passwd_grid")
                .spacing([t.space_m, t.space_xs])
                .show(ui, |ui| {
                    field(ui, "Current passphrase", &mut form.current, true, 220.0);
                    ui.end_row();
                    field(ui, "New passphrase", &mut form.new, true, 220.0);
                    ui.end_row();
                    field(ui, "Repeat the new passphrase", &mut form.confirm, true, 220.0);
                    ui.end_row();
                });
            super::hint(ui, t, "At least 8 characters. For a clinician, the key that opens your sessions is replaced too. The change is audited.");
            if ui
                .add_enabled(st.busy.is_none(), egui::Button::new("Change my passphrase"))
                .clicked()
            {
                out.push(UiCommand::ChangePassphrase);
            }
        });
    if let Some(done) = &st.admin.people_done {
        ui.label(RichText::new(done).color(t.palette.success));
    }
}

/// Why an admin cannot add a clinician, in the words the screen uses.
pub const CLINICIAN_ENROLMENT: &str = "A new clinician is enrolled by an existing clinician: the clinician holds the key that opens patient data and wraps it for the newcomer, and an admin never holds it. Ask a clinician to use \"Add a colleague\" on their session list.";

/// Name, passphrase and confirmation, and the button that sends them.
/// Shared with the clinician's "Add a colleague".
pub(crate) fn new_user_fields(
    ui: &mut egui::Ui,
    st: &mut ViewState,
    t: &Tokens,
    out: &mut Vec<UiCommand>,
    button: &str,
) {
    let form = &mut st.admin.new_user;
    egui::Grid::new(("new_user_grid", button))
        .spacing([t.space_m, t.space_xs])
        .show(ui, |ui| {
            field(ui, "New user's name", &mut form.name, false, 220.0);
            ui.end_row();
            field(
                ui,
                "New user's passphrase",
                &mut form.passphrase,
                true,
                220.0,
            );
            ui.end_row();
            field(ui, "Repeat the passphrase", &mut form.confirm, true, 220.0);
            ui.end_row();
        });
    super::hint(ui, t, "At least 8 characters. Tell the new user their passphrase in person; Tacet never shows or stores it.");
    if ui
        .add_enabled(st.busy.is_none(), egui::Button::new(button))
        .clicked()
    {
        out.push(UiCommand::AddUser);
    }
}
