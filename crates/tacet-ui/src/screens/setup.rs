//! The first-run walk: with no vault in the data folder, the admin creates
//! it (the admin's and the first clinician's accounts, each passphrase's
//! strength shown, the key derivation calibrated with a progress bar),
//! imports the models from a folder or removable disk, chooses where the
//! audit log is anchored outside the data folder, and reads the consent
//! texts. No terminal at any step; each stays available in the CLI
//! (`tacet init`, `tacet models import-folder`, `tacet settings
//! --anchor-dir`, `tacet consent`) and, for an admin, on the admin screen.

use super::{chip, field, path_field};
use crate::state::{passphrase_strength, SetupStep, UiCommand, ViewState, MIN_STRENGTH};
use crate::tokens::Tokens;
use egui::RichText;

/// Width of the walk's card.
const WIDTH: f32 = 760.0;

pub fn show(ui: &mut egui::Ui, st: &mut ViewState, t: &Tokens, out: &mut Vec<UiCommand>) {
    egui::ScrollArea::vertical().show(ui, |ui| {
        ui.vertical_centered(|ui| {
            ui.set_max_width(WIDTH);
            t.card().show(ui, |ui| {
                ui.set_width(WIDTH - 2.0 * t.space_m);
                ui.with_layout(egui::Layout::top_down(egui::Align::Min), |ui| {
                    ui.label(RichText::new("Set up Tacet").size(t.text_title).strong());
                    steps(ui, st, t);
                    ui.add_space(t.space_m);
                    match st.setup.step {
                        SetupStep::Accounts => accounts(ui, st, t, out),
                        SetupStep::Models => models(ui, st, t, out),
                        SetupStep::Anchor => anchor(ui, st, t, out),
                        SetupStep::Consent => consent(ui, st, t, out),
                        SetupStep::Done => done(ui, st, t, out),
                    }
                });
            });
        });
    });
}

/// "1 Accounts · 2 Models · …", the current step marked.
fn steps(ui: &mut egui::Ui, st: &ViewState, t: &Tokens) {
    ui.horizontal_wrapped(|ui| {
        let at = SetupStep::ALL
            .iter()
            .position(|s| *s == st.setup.step)
            .unwrap_or(0);
        for (i, step) in SetupStep::ALL.iter().enumerate() {
            let colour = if i == at {
                t.palette.accent
            } else if i < at {
                t.palette.success
            } else {
                t.palette.text_weak
            };
            let text = format!("{} {}", i + 1, step.title());
            let text = if i == at {
                RichText::new(text).strong()
            } else {
                RichText::new(text)
            };
            ui.label(text.color(colour));
            if i + 1 < SetupStep::ALL.len() {
                ui.label(RichText::new("·").color(t.palette.text_weak));
            }
        }
    });
}

fn weak(ui: &mut egui::Ui, t: &Tokens, text: impl Into<String>) {
    ui.label(RichText::new(text.into()).color(t.palette.text_weak));
}

fn progress(ui: &mut egui::Ui, st: &ViewState, t: &Tokens) {
    if let Some((fraction, label)) = &st.setup.progress {
        ui.add_space(t.space_s);
        ui.add(
            egui::ProgressBar::new(fraction.clamp(0.0, 1.0))
                .text(label.as_str())
                .animate(st.busy.is_some()),
        );
    }
}

/// Back and next, at the foot of a step.
fn nav(
    ui: &mut egui::Ui,
    st: &ViewState,
    t: &Tokens,
    back: Option<SetupStep>,
    next: (SetupStep, &str),
    out: &mut Vec<UiCommand>,
) {
    ui.add_space(t.space_m);
    let busy = st.busy.is_some();
    ui.horizontal(|ui| {
        if let Some(b) = back {
            if ui.add_enabled(!busy, egui::Button::new("Back")).clicked() {
                out.push(UiCommand::SetupGoTo(b));
            }
        }
        if ui.add_enabled(!busy, egui::Button::new(next.1)).clicked() {
            out.push(UiCommand::SetupGoTo(next.0));
        }
    });
}

fn strength_line(ui: &mut egui::Ui, t: &Tokens, pass: &str, user: &str) {
    if pass.is_empty() {
        return;
    }
    let s = passphrase_strength(pass, user);
    let colour = match s.score {
        0 | 1 => t.palette.danger,
        2 => t.palette.warning,
        _ => t.palette.success,
    };
    ui.horizontal_wrapped(|ui| {
        ui.label(RichText::new(format!("Strength: {}", s.label)).color(colour));
        if s.score < MIN_STRENGTH {
            weak(ui, t, "(too easy to guess)");
        }
        if let Some(h) = s.hint {
            weak(ui, t, h);
        }
    });
}

fn accounts(ui: &mut egui::Ui, st: &mut ViewState, t: &Tokens, out: &mut Vec<UiCommand>) {
    let w = WIDTH - 4.0 * t.space_m;
    if st.setup.verifier_key.is_some() {
        weak(
            ui,
            t,
            format!(
                "The vault in {} was created with the admin {} and the clinician {}.",
                st.setup.data_dir,
                st.setup.admin.trim(),
                st.setup.clinician.trim()
            ),
        );
        nav(ui, st, t, None, (SetupStep::Models, "Next: models"), out);
        return;
    }
    ui.label(format!(
        "There is no vault in {} yet. These steps create one; nothing leaves this computer.",
        st.setup.data_dir
    ));
    weak(
        ui,
        t,
        "Two accounts to begin with: an admin, who manages models, users and the audit log and can never open patient data, and the first clinician, who records, reviews and exports notes. A passphrase is the only way into its account: nobody can reset it, so keep it somewhere safe.",
    );
    ui.add_space(t.space_m);
    let s = &mut st.setup;
    field(ui, "Admin user name", &mut s.admin, false, w);
    field(ui, "Admin passphrase", &mut s.admin_passphrase, true, w);
    strength_line(ui, t, &s.admin_passphrase, &s.admin);
    field(
        ui,
        "Repeat the admin passphrase",
        &mut s.admin_confirm,
        true,
        w,
    );
    ui.add_space(t.space_m);
    field(ui, "Clinician user name", &mut s.clinician, false, w);
    field(
        ui,
        "Clinician passphrase",
        &mut s.clinician_passphrase,
        true,
        w,
    );
    strength_line(ui, t, &s.clinician_passphrase, &s.clinician);
    field(
        ui,
        "Repeat the clinician passphrase",
        &mut s.clinician_confirm,
        true,
        w,
    );
    ui.add_space(t.space_m);
    let busy = st.busy.is_some();
    if ui
        .add_enabled(!busy, egui::Button::new("Create the vault"))
        .clicked()
    {
        out.push(UiCommand::CreateVault);
    }
    weak(
        ui,
        t,
        "Each key derivation is measured on this computer to take about half a second, which slows guessing down.",
    );
    progress(ui, st, t);
}

fn models(ui: &mut egui::Ui, st: &mut ViewState, t: &Tokens, out: &mut Vec<UiCommand>) {
    ui.label("Tacet needs a speech model, for transcription, and a drafting model.");
    weak(
        ui,
        t,
        "They are files the practice brings on a folder, a second disk or a USB stick: nothing is downloaded. Each file's SHA-256 is checked against the one Tacet pins before anything reads it; a file that is not a listed model, or is cut short or changed, is refused by name.",
    );
    ui.add_space(t.space_s);
    let installed = st.admin.models.clone().unwrap_or_default();
    for (role, what) in [("asr", "Speech model"), ("llm", "Drafting model")] {
        let ids: Vec<&str> = installed
            .iter()
            .filter(|m| m.role.eq_ignore_ascii_case(role))
            .map(|m| m.id.as_str())
            .collect();
        ui.horizontal(|ui| {
            ui.label(format!("{what}:"));
            if ids.is_empty() {
                chip(ui, t, "missing", t.palette.warning);
            } else {
                chip(
                    ui,
                    t,
                    &format!("installed: {}", ids.join(", ")),
                    t.palette.success,
                );
            }
        });
    }
    ui.add_space(t.space_s);
    path_field(
        ui,
        "Folder with the model files",
        &mut st.setup.models_folder,
        WIDTH - 4.0 * t.space_m - 200.0,
        crate::picker::PathField::ModelsFolder,
        out,
    );
    let busy = st.busy.is_some();
    if ui
        .add_enabled(!busy, egui::Button::new("Import the models in this folder"))
        .clicked()
    {
        out.push(UiCommand::ImportModelsFolder);
    }
    progress(ui, st, t);
    for row in &st.setup.imported {
        match &row.outcome {
            Ok(id) => ui.label(
                RichText::new(format!("Installed {id} from {}", row.source))
                    .color(t.palette.success),
            ),
            Err(why) => ui.label(
                RichText::new(format!("Refused {}: {why}", row.source)).color(t.palette.danger),
            ),
        };
    }
    let missing = ["asr", "llm"]
        .iter()
        .any(|r| !installed.iter().any(|m| m.role.eq_ignore_ascii_case(r)));
    if missing {
        ui.add_space(t.space_s);
        weak(
            ui,
            t,
            "Without both models a clinician cannot transcribe or draft. Import them now, or later from the admin screen.",
        );
    }
    nav(
        ui,
        st,
        t,
        None,
        (SetupStep::Anchor, "Next: audit anchor"),
        out,
    );
}

fn anchor(ui: &mut egui::Ui, st: &mut ViewState, t: &Tokens, out: &mut Vec<UiCommand>) {
    ui.label("Anchor the audit log outside the data folder.");
    weak(
        ui,
        t,
        "Every signed checkpoint of the audit log is also written to a folder you choose outside the data folder — a second disk, a share, a USB stick — and the log's verifier key is pinned there. Then putting back an old copy of the data folder, or signing the log again, is caught when the log is verified. A stick that is out never blocks work.",
    );
    ui.add_space(t.space_s);
    let anchored = st
        .admin
        .retention
        .as_ref()
        .and_then(|r| r.anchor_dir.clone());
    match &anchored {
        Some(d) => chip(ui, t, &format!("anchored in {d}"), t.palette.success),
        None => chip(ui, t, "not anchored yet", t.palette.warning),
    }
    path_field(
        ui,
        "Anchor folder (outside the data folder)",
        &mut st.admin.anchor_input,
        WIDTH - 4.0 * t.space_m - 200.0,
        crate::picker::PathField::AnchorFolder,
        out,
    );
    let busy = st.busy.is_some();
    if ui
        .add_enabled(!busy, egui::Button::new("Anchor the audit log here"))
        .clicked()
    {
        out.push(UiCommand::SaveAnchor);
    }
    if let Some(saved) = &st.admin.retention_saved {
        ui.label(RichText::new(saved).color(t.palette.success));
    }
    let next = if anchored.is_some() {
        "Next: consent texts"
    } else {
        "Skip for now: consent texts"
    };
    nav(
        ui,
        st,
        t,
        Some(SetupStep::Models),
        (SetupStep::Consent, next),
        out,
    );
}

fn consent(ui: &mut egui::Ui, st: &mut ViewState, t: &Tokens, out: &mut Vec<UiCommand>) {
    ui.label("The consent texts the practice uses.");
    weak(
        ui,
        t,
        "The clause belongs on the practice's consent form; the script is read aloud before each recording, and the patient's answer is recorded. Where the audio is processed and how long it is kept are filled in from this vault's settings.",
    );
    ui.add_space(t.space_s);
    ui.horizontal(|ui| {
        field(ui, "Practice name", &mut st.setup.practice, false, 320.0);
        if ui.button("Fill in the practice name").clicked() {
            out.push(UiCommand::LoadConsentTexts);
        }
    });
    if let Some((clause, script)) = &st.setup.consent {
        for (title, text) in [
            ("For the consent form", clause),
            ("Read aloud before recording", script),
        ] {
            ui.add_space(t.space_s);
            ui.label(RichText::new(title).strong());
            egui::Frame::new()
                .fill(t.palette.field)
                .inner_margin(egui::Margin::same(t.space_s as i8))
                .show(ui, |ui| {
                    ui.add(egui::Label::new(text.as_str()).selectable(true));
                });
        }
    } else {
        ui.horizontal(|ui| {
            ui.spinner();
            weak(ui, t, "Filling in the consent texts…");
        });
    }
    nav(
        ui,
        st,
        t,
        Some(SetupStep::Anchor),
        (SetupStep::Done, "Next: finish"),
        out,
    );
}

fn done(ui: &mut egui::Ui, st: &mut ViewState, t: &Tokens, out: &mut Vec<UiCommand>) {
    let s = &st.setup;
    ui.label(RichText::new("Tacet is ready.").strong());
    let models = st
        .admin
        .models
        .as_ref()
        .map(|m| {
            m.iter()
                .map(|r| r.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        })
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| "none yet (import them from the admin screen)".into());
    let anchor = st
        .admin
        .retention
        .as_ref()
        .and_then(|r| r.anchor_dir.clone())
        .unwrap_or_else(|| "not chosen (choose one from the admin screen)".into());
    egui::Grid::new("setup_summary")
        .num_columns(2)
        .spacing([t.space_m, t.space_xs])
        .show(ui, |ui| {
            for (k, v) in [
                ("Vault", s.data_dir.clone()),
                ("Admin", s.admin.trim().to_string()),
                ("Clinician", s.clinician.trim().to_string()),
                ("Models", models),
                ("Audit anchor", anchor),
            ] {
                ui.label(RichText::new(k).color(t.palette.text_weak));
                ui.label(v);
                ui.end_row();
            }
        });
    if let Some(key) = &s.verifier_key {
        ui.add_space(t.space_m);
        ui.label(RichText::new("Audit verifier key").strong());
        weak(
            ui,
            t,
            "Keep a copy outside this computer (print it, or write it down): with it anyone can check that the audit log was signed by this vault and nobody else.",
        );
        ui.add(egui::Label::new(RichText::new(key).monospace()).selectable(true));
    }
    if let Some(key) = &s.chain_key {
        ui.add_space(t.space_m);
        ui.label(RichText::new("Audit chain key (secret)").strong());
        weak(
            ui,
            t,
            "Keep it outside this computer too, where only whoever audits the practice can reach it: the vault does not keep it. With it, every record of the audit log can be checked, and nobody who signs in later can rewrite what came before without it showing.",
        );
        ui.add(egui::Label::new(RichText::new(key).monospace()).selectable(true));
    }
    let clinician = s.clinician.trim().to_string();
    ui.add_space(t.space_m);
    ui.horizontal(|ui| {
        if ui.button("Back").clicked() {
            out.push(UiCommand::SetupGoTo(SetupStep::Consent));
        }
        if ui
            .button(format!("Finish: sign in as {clinician}"))
            .clicked()
        {
            out.push(UiCommand::FinishSetup);
        }
    });
}
