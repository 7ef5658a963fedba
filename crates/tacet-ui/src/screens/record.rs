//! The Record screen: live recording from a microphone, with a recording file as
//! the secondary way in.
//!
//! Design decisions:
//! - **Big controls, one row, state-driven.** Only the buttons that make
//!   sense now exist (Record; Pause + Stop; Resume + Stop), each named by
//!   its visible text, with Ctrl+Shift+R / P / S for the hands that stay on
//!   the keyboard (handled in `app.rs`, so a shortcut and a click are the
//!   same command).
//! - **Tentative text looks tentative.** Committed words are in the body
//!   colour; words the engine may still change are in the muted
//!   (`text_weak`) colour, italic, after a "tentative" chip; segments the
//!   engine was unsure of are underlined in the warning colour. Colours come
//!   only from the tokens.
//! - **A lost microphone is a banner, not an error.** The recording stays
//!   (paused); the banner says so and offers Resume from the device chosen
//!   in the picker, which stays usable while paused.
//! - **The level meter is a progress bar in dBFS** (−60 to 0), so a screen
//!   reader hears the level as a number.

use super::{busy_line, chip, clock, TranscriptLine, UNSURE_HOVER};
use crate::backend::LiveLevel;
use crate::state::{LivePhase, UiCommand, ViewState};
use crate::tokens::Tokens;
use egui::RichText;

/// The keyboard shortcuts, as shown under the buttons.
pub const LIVE_SHORTCUTS: &str =
    "Ctrl+Shift+R record or resume · Ctrl+Shift+P pause or resume · Ctrl+Shift+S stop";

pub fn show(
    ui: &mut egui::Ui,
    st: &mut ViewState,
    t: &Tokens,
    now_s: f64,
    out: &mut Vec<UiCommand>,
) {
    ui.horizontal(|ui| {
        ui.label(RichText::new("Record").size(t.text_title).strong());
        chip(ui, t, "consent given", t.palette.success);
        ui.label(
            RichText::new(format!("template {}", st.new_session.template_id))
                .color(t.palette.text_weak),
        );
    });
    ui.add_space(t.space_m);
    if st.new_session.consent != Some(true) {
        ui.label("There is no consent for this session, so nothing can be recorded.");
        return;
    }
    microphone(ui, st, t, out);
    ui.add_space(t.space_m);
    live_transcript(ui, st, t);
    ui.add_space(t.space_m);
    wav(ui, st, t, now_s, out);
}

fn microphone(ui: &mut egui::Ui, st: &mut ViewState, t: &Tokens, out: &mut Vec<UiCommand>) {
    let phase = st.live.phase;
    t.card().show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.label(RichText::new("Microphone").size(t.text_heading).strong());
        device_picker(ui, st, t, out);
        ui.add_space(t.space_s);
        if let Some(message) = st.live.device_lost.clone() {
            t.banner(t.palette.warning).show(ui, |ui| {
                ui.set_width(ui.available_width());
                ui.label(
                    RichText::new("The microphone was lost")
                        .strong()
                        .color(t.palette.warning),
                );
                ui.label(message);
                ui.label("What was recorded is kept. Reconnect it or choose another device above, then resume.");
                if ui.button("Resume from the chosen device").clicked() {
                    out.push(UiCommand::ResumeRecording);
                }
            });
            ui.add_space(t.space_s);
        }
        ui.horizontal(|ui| {
            let big = |text: &str, colour: egui::Color32| {
                egui::Button::new(RichText::new(text).size(t.text_heading).color(colour))
                    .min_size(egui::vec2(200.0, 48.0))
            };
            match phase {
                LivePhase::Idle => {
                    if ui
                        .add(big("Record from microphone", t.palette.danger))
                        .on_hover_text("Ctrl+Shift+R")
                        .clicked()
                    {
                        out.push(UiCommand::StartRecording);
                    }
                }
                LivePhase::Recording => {
                    if ui
                        .add(big("Pause", t.palette.warning))
                        .on_hover_text("Ctrl+Shift+P")
                        .clicked()
                    {
                        out.push(UiCommand::PauseRecording);
                    }
                    if ui
                        .add(big("Stop", t.palette.text))
                        .on_hover_text("Ctrl+Shift+S")
                        .clicked()
                    {
                        out.push(UiCommand::StopRecording);
                    }
                }
                LivePhase::Paused | LivePhase::DeviceLost => {
                    if ui
                        .add(big("Resume", t.palette.danger))
                        .on_hover_text("Ctrl+Shift+R")
                        .clicked()
                    {
                        out.push(UiCommand::ResumeRecording);
                    }
                    if ui
                        .add(big("Stop", t.palette.text))
                        .on_hover_text("Ctrl+Shift+S")
                        .clicked()
                    {
                        out.push(UiCommand::StopRecording);
                    }
                }
                LivePhase::Starting => {
                    ui.add_enabled(false, big("Starting the microphone…", t.palette.text_weak));
                }
                LivePhase::Stopping => {
                    ui.add_enabled(false, big("Stopping…", t.palette.text_weak));
                }
            }
            ui.add_space(t.space_l);
            status(ui, st, t);
        });
        ui.add_space(t.space_s);
        level_meter(ui, st.live.level, phase, t);
        super::hint(ui, t, LIVE_SHORTCUTS);
    });
}

fn device_picker(ui: &mut egui::Ui, st: &mut ViewState, t: &Tokens, out: &mut Vec<UiCommand>) {
    let live = &mut st.live;
    // The device may change while paused or lost, not while sound flows.
    let can_choose = matches!(
        live.phase,
        LivePhase::Idle | LivePhase::Paused | LivePhase::DeviceLost
    );
    let name_of = |id: &Option<String>| -> String {
        match id {
            None => "Default input".to_string(),
            Some(id) => live
                .devices
                .iter()
                .find(|d| d.id == *id)
                .map(|d| d.name.clone())
                .unwrap_or_else(|| id.clone()),
        }
    };
    let selected_text = name_of(&live.selected);
    ui.horizontal(|ui| {
        let l = ui.label("Input device");
        ui.add_enabled_ui(can_choose, |ui| {
            egui::ComboBox::from_id_salt("input_device")
                .selected_text(selected_text)
                .width(320.0)
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut live.selected, None, "Default input");
                    for d in &live.devices {
                        let mut text = d.name.clone();
                        if d.is_default {
                            text.push_str(" (default)");
                        }
                        if live.remembered.as_deref() == Some(d.id.as_str()) {
                            text.push_str(" (remembered)");
                        }
                        ui.selectable_value(&mut live.selected, Some(d.id.clone()), text);
                    }
                })
                .response
                .labelled_by(l.id);
        });
        if ui
            .add_enabled(can_choose, egui::Button::new("Refresh devices"))
            .clicked()
        {
            out.push(UiCommand::RefreshDevices);
        }
    });
    if !live.devices_loaded {
        ui.label(RichText::new("Looking for input devices…").color(t.palette.text_weak));
    } else if let Some(r) = &live.remembered {
        if !live.devices.iter().any(|d| d.id == *r) {
            ui.label(
                RichText::new(format!(
                    "The remembered device {r} is not connected; the default input will be used."
                ))
                .color(t.palette.warning),
            );
        }
    } else if live.devices.is_empty() {
        ui.label(
            RichText::new("No input device was found; connect a microphone and refresh.")
                .color(t.palette.warning),
        );
    }
}

fn status(ui: &mut egui::Ui, st: &ViewState, t: &Tokens) {
    let live = &st.live;
    let (word, colour) = match live.phase {
        LivePhase::Idle => ("not recording", t.palette.text_weak),
        LivePhase::Starting => ("starting", t.palette.accent),
        LivePhase::Recording => ("recording", t.palette.danger),
        LivePhase::Paused => ("paused", t.palette.warning),
        LivePhase::DeviceLost => ("microphone lost", t.palette.warning),
        LivePhase::Stopping => ("stopping", t.palette.accent),
    };
    ui.vertical(|ui| {
        chip(ui, t, word, colour);
        ui.horizontal(|ui| {
            let l = ui.label(RichText::new("Elapsed").color(t.palette.text_weak));
            ui.label(
                RichText::new(clock(live.elapsed_ms))
                    .monospace()
                    .size(t.text_title),
            )
            .labelled_by(l.id);
        });
        if let Some(d) = &live.device {
            super::hint(ui, t, format!("from {d}"));
        }
    });
}

/// The meter's fill: 0 at the floor, 1 at full scale.
pub fn meter_fraction(level_dbfs: f32) -> f32 {
    ((level_dbfs - LiveLevel::FLOOR_DBFS) / -LiveLevel::FLOOR_DBFS).clamp(0.0, 1.0)
}

fn level_meter(ui: &mut egui::Ui, level: Option<LiveLevel>, phase: LivePhase, t: &Tokens) {
    let live = phase == LivePhase::Recording;
    let level = level.filter(|_| live).unwrap_or_else(LiveLevel::silent);
    // Near full scale the speech is clipping: say so in the danger colour.
    let colour = if level.peak_dbfs > -3.0 {
        t.palette.danger
    } else if level.rms_dbfs > -40.0 {
        t.palette.success
    } else {
        t.palette.text_weak
    };
    let text = if live {
        format!(
            "Input level {:.0} dBFS (peak {:.0})",
            level.rms_dbfs, level.peak_dbfs
        )
    } else {
        "Input level: not recording".to_string()
    };
    ui.add(
        egui::ProgressBar::new(meter_fraction(level.rms_dbfs))
            .desired_width(420.0)
            .fill(colour)
            .text(text),
    );
}

fn live_transcript(ui: &mut egui::Ui, st: &ViewState, t: &Tokens) {
    let live = &st.live;
    t.card().show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.horizontal(|ui| {
            ui.label(
                RichText::new("Live transcript")
                    .size(t.text_heading)
                    .strong(),
            );
            super::hint(
                ui,
                t,
                "muted italic: may still change · underlined: the engine was unsure",
            );
        });
        egui::ScrollArea::vertical()
            .id_salt("live_transcript")
            .stick_to_bottom(true)
            .max_height(220.0)
            .show(ui, |ui| {
                ui.set_width(ui.available_width());
                if live.committed.is_empty() && live.tentative.is_empty() {
                    ui.label(
                        RichText::new("The transcript appears here as you speak.")
                            .color(t.palette.text_weak),
                    );
                    return;
                }
                ui.horizontal_wrapped(|ui| {
                    for s in &live.committed {
                        let pieces = s.pieces();
                        let line = TranscriptLine {
                            prefix: "",
                            pieces: &pieces,
                            whole_unsure: s.low_confidence,
                            suffix: "",
                            colour: t.palette.text,
                            italics: false,
                        };
                        let r = ui.label(line.job(ui, t));
                        if line.any_unsure() {
                            r.on_hover_text(UNSURE_HOVER);
                        }
                    }
                    if !live.tentative.is_empty() {
                        super::hint(ui, t, "tentative");
                        for s in &live.tentative {
                            let pieces = s.pieces();
                            let line = TranscriptLine {
                                prefix: "",
                                pieces: &pieces,
                                whole_unsure: s.low_confidence,
                                suffix: "",
                                colour: t.palette.text_weak,
                                italics: true,
                            };
                            ui.label(line.job(ui, t));
                        }
                    }
                });
            });
    });
}

fn wav(ui: &mut egui::Ui, st: &mut ViewState, t: &Tokens, now_s: f64, out: &mut Vec<UiCommand>) {
    let usable = st.busy.is_none() && !st.live.is_active();
    egui::CollapsingHeader::new("Or transcribe a recording (WAV, FLAC, MP3, M4A, OGG, Opus)…")
        .default_open(true)
        .show(ui, |ui| {
            ui.label(RichText::new("Choose it, type its path or drop the file on this window. Any sample rate or channel count; it is converted to 16 kHz mono and sealed in the vault.").color(t.palette.text_weak));
            ui.add_space(t.space_s);
            ui.add_enabled_ui(usable, |ui| {
                super::path_field(
                    ui,
                    "Recording file path",
                    &mut st.new_session.wav_path,
                    520.0,
                    crate::picker::PathField::Recording,
                    out,
                );
            });
            ui.add_space(t.space_s);
            if ui
                .add_enabled(usable, egui::Button::new("Transcribe recording (Ctrl+R)"))
                .clicked()
            {
                out.push(UiCommand::Transcribe);
            }
            busy_line(ui, st, t, now_s);
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_meter_spans_the_floor_to_full_scale() {
        assert_eq!(meter_fraction(LiveLevel::FLOOR_DBFS), 0.0);
        assert_eq!(meter_fraction(-90.0), 0.0);
        assert_eq!(meter_fraction(0.0), 1.0);
        assert!((meter_fraction(-30.0) - 0.5).abs() < 1e-6);
        let l = LiveLevel::from_linear(0.1, 1.0);
        assert!((l.rms_dbfs + 20.0).abs() < 1e-3);
        assert_eq!(l.peak_dbfs, 0.0);
        assert_eq!(LiveLevel::from_linear(0.0, f32::NAN), LiveLevel::silent());
    }
}
