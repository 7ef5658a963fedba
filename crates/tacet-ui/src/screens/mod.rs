//! The screens. Each is a function from view state to widgets that pushes
//! [`UiCommand`]s; none holds state of its own, none talks to a backend.
//! Every control carries an accessible name (its visible text, or a label
//! tied to it with `labelled_by`), which the kittest tests also query by.

mod admin;
pub(crate) mod clinician;
mod record;
mod review;
mod setup;
mod unlock;

use crate::state::{Screen, UiCommand, ViewState};
use crate::tokens::Tokens;
use egui::RichText;

/// The whole window: top bar, message banner, the current screen.
pub fn frame(
    ui: &mut egui::Ui,
    st: &mut ViewState,
    t: &Tokens,
    now_s: f64,
    scroll_to_focus: &mut bool,
    out: &mut Vec<UiCommand>,
) {
    egui::Panel::top("top_bar")
        .frame(
            egui::Frame::new()
                .fill(t.palette.background)
                .inner_margin(egui::Margin::same(t.space_s as i8)),
        )
        .show(ui, |ui| top_bar(ui, st, t, out));
    // Problems and notes sit in a bar along the bottom: a message that
    // appears never moves the screen's controls (under a person's pointer,
    // between seeing a button and clicking it), as a banner above them did.
    if st.error.is_some() || st.notice.is_some() {
        egui::Panel::bottom("messages")
            .frame(
                egui::Frame::new()
                    .fill(t.palette.background)
                    .inner_margin(egui::Margin::same(t.space_s as i8)),
            )
            .show(ui, |ui| messages(ui, st, t, out));
    }
    egui::CentralPanel::default()
        .frame(
            egui::Frame::new()
                .fill(t.palette.panel)
                .inner_margin(egui::Margin::same(t.space_l as i8)),
        )
        .show(ui, |ui| match st.screen {
            Screen::Setup => setup::show(ui, st, t, out),
            Screen::Unlock => unlock::show(ui, st, t, out),
            Screen::Sessions => clinician::sessions(ui, st, t, out),
            Screen::NewSession => clinician::new_session(ui, st, t, out),
            Screen::Record => record::show(ui, st, t, now_s, out),
            Screen::Draft => clinician::draft(ui, st, t, now_s, out),
            Screen::Review => review::show(ui, st, t, scroll_to_focus, out),
            Screen::Export => review::export(ui, st, t, out),
            Screen::Admin => admin::show(ui, st, t, out),
        });
}

fn top_bar(ui: &mut egui::Ui, st: &mut ViewState, t: &Tokens, out: &mut Vec<UiCommand>) {
    ui.horizontal(|ui| {
        ui.label(
            RichText::new("Tacet")
                .size(t.text_heading)
                .strong()
                .color(t.palette.accent),
        );
        hint(ui, t, "local AI scribe");
        if let Some(who) = &st.signed_in {
            ui.separator();
            ui.label(format!("{} ({})", who.user, who.role));
            ui.separator();
            // While a recording runs the Record screen stays (Lock still
            // works: the recording is stopped and sealed first).
            if who.role == tacet_core::Role::Clinician && !st.live.is_active() {
                if ui
                    .selectable_label(st.screen == Screen::Sessions, "Sessions")
                    .clicked()
                {
                    st.screen = Screen::Sessions;
                    out.push(UiCommand::RefreshSessions);
                }
                if ui
                    .selectable_label(st.screen == Screen::NewSession, "New session")
                    .clicked()
                {
                    out.push(UiCommand::StartNewSession);
                }
            }
        }
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if st.signed_in.is_some() && ui.button("Lock").on_hover_text("Lock Tacet now").clicked()
            {
                out.push(UiCommand::Lock);
            }
            let theme_label = match st.settings.theme {
                crate::tokens::ThemeKind::Dark => "Light theme",
                crate::tokens::ThemeKind::Light => "Dark theme",
            };
            if ui.button(theme_label).clicked() {
                out.push(UiCommand::ToggleTheme);
            }
        });
    });
}

fn messages(ui: &mut egui::Ui, st: &ViewState, t: &Tokens, out: &mut Vec<UiCommand>) {
    let shown = [
        (&st.error, t.palette.danger, "Problem"),
        (&st.notice, t.palette.accent, "Note"),
    ];
    for (msg, colour, title) in shown {
        if let Some(text) = msg {
            t.banner(colour).show(ui, |ui| {
                ui.horizontal_wrapped(|ui| {
                    ui.label(RichText::new(title).strong().color(colour));
                    ui.label(text.as_str());
                    if ui.small_button("Dismiss").clicked() {
                        out.push(UiCommand::DismissMessage);
                    }
                });
            });
        }
    }
}

/// A small coloured status word.
/// A line of small, weak text under a control: what it does, where it
/// saves, how long something lasts.
pub(crate) fn hint(ui: &mut egui::Ui, t: &Tokens, text: impl Into<String>) {
    ui.label(
        RichText::new(text)
            .color(t.palette.text_weak)
            .size(t.text_small),
    );
}

pub(crate) fn chip(ui: &mut egui::Ui, t: &Tokens, text: &str, colour: egui::Color32) {
    // In its own row so a justified (column) layout does not stretch it.
    ui.horizontal(|ui| chip_frame(ui, t, text, colour));
}

fn chip_frame(ui: &mut egui::Ui, t: &Tokens, text: &str, colour: egui::Color32) {
    egui::Frame::new()
        .stroke(egui::Stroke::new(1.0, colour))
        .corner_radius(egui::CornerRadius::same(t.radius_s))
        .inner_margin(egui::Margin::symmetric(t.space_xs as i8 + 2, 1))
        .show(ui, |ui| {
            ui.label(RichText::new(text).color(colour).size(t.text_small));
        });
}

/// A busy line: spinner, what is happening, elapsed seconds.
pub(crate) fn busy_line(ui: &mut egui::Ui, st: &ViewState, t: &Tokens, now_s: f64) {
    if let Some(b) = &st.busy {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label(RichText::new(&b.label).color(t.palette.accent));
            ui.label(
                RichText::new(format!("{:.0} s", (now_s - b.started_s).max(0.0)))
                    .color(t.palette.text_weak),
            );
        });
    }
}

/// A labelled single-line text field (the label is its accessible name).
pub(crate) fn field(
    ui: &mut egui::Ui,
    label: &str,
    value: &mut String,
    password: bool,
    width: f32,
) -> egui::Response {
    let l = ui.label(label);
    ui.add(
        egui::TextEdit::singleline(value)
            .password(password)
            .desired_width(width),
    )
    .labelled_by(l.id)
}

/// A path a person types or chooses: the label, the field and, beside it,
/// the button that opens the in-window picker for it
/// (`crate::picker`).
pub(crate) fn path_field(
    ui: &mut egui::Ui,
    label: &str,
    value: &mut String,
    width: f32,
    which: crate::picker::PathField,
    out: &mut Vec<UiCommand>,
) {
    let l = ui.label(label);
    ui.horizontal(|ui| {
        ui.add(egui::TextEdit::singleline(value).desired_width(width))
            .labelled_by(l.id);
        browse_button(ui, which, out);
    });
}

/// The button that opens the in-window picker for a path field.
pub(crate) fn browse_button(
    ui: &mut egui::Ui,
    which: crate::picker::PathField,
    out: &mut Vec<UiCommand>,
) {
    if ui.button(which.browse_label()).clicked() {
        out.push(UiCommand::Browse(which));
    }
}

/// A recording clock: "mm:ss" (or "h:mm:ss" past an hour).
pub(crate) fn clock(ms: u64) -> String {
    let secs = ms / 1000;
    if secs >= 3600 {
        format!("{}:{:02}:{:02}", secs / 3600, secs % 3600 / 60, secs % 60)
    } else {
        format!("{:02}:{:02}", secs / 60, secs % 60)
    }
}

/// UTC date and time from Unix milliseconds, to the minute.
pub(crate) fn format_ms(ms: u64) -> String {
    tacet_core::time::format_utc_minutes(ms)
}

/// The hover text on words the engine was unsure of.
pub(crate) const UNSURE_HOVER: &str =
    "The engine was unsure of the underlined words: check them against the audio.";

/// How one transcript segment is drawn: `prefix` (its time), its text with
/// the words the engine was unsure of underlined in the warning colour (the
/// whole text when the segment itself is below the confidence threshold),
/// then `suffix`. The record and review screens both draw segments so.
pub(crate) struct TranscriptLine<'a> {
    pub prefix: &'a str,
    pub pieces: &'a [(&'a str, bool)],
    pub whole_unsure: bool,
    pub suffix: &'a str,
    pub colour: egui::Color32,
    pub italics: bool,
}

impl TranscriptLine<'_> {
    /// The line in the body font of `ui`.
    pub(crate) fn job(&self, ui: &egui::Ui, t: &Tokens) -> egui::text::LayoutJob {
        self.job_in(egui::TextStyle::Body.resolve(ui.style()), t)
    }

    fn job_in(&self, font_id: egui::FontId, t: &Tokens) -> egui::text::LayoutJob {
        let format = |unsure: bool| egui::TextFormat {
            font_id: font_id.clone(),
            color: if unsure {
                t.palette.warning
            } else {
                self.colour
            },
            italics: self.italics,
            underline: if unsure {
                egui::Stroke::new(1.0, t.palette.warning)
            } else {
                egui::Stroke::NONE
            },
            ..Default::default()
        };
        let mut job = egui::text::LayoutJob::default();
        job.append(self.prefix, 0.0, format(self.whole_unsure));
        for (text, unsure) in self.pieces {
            job.append(text, 0.0, format(self.whole_unsure || *unsure));
        }
        job.append(self.suffix, 0.0, format(self.whole_unsure));
        job
    }

    /// Whether any of it is marked.
    pub(crate) fn any_unsure(&self) -> bool {
        self.whole_unsure || self.pieces.iter().any(|(_, u)| *u)
    }
}

#[cfg(test)]
mod tests {
    use super::TranscriptLine;
    use crate::tokens::Tokens;

    #[test]
    fn a_transcript_line_underlines_only_the_unsure_words() {
        let t = Tokens::dark();
        let pieces = [("Take ", false), ("metoprolol", true), (" daily.", false)];
        let line = TranscriptLine {
            prefix: "[00:03] ",
            pieces: &pieces,
            whole_unsure: false,
            suffix: "",
            colour: t.palette.text,
            italics: false,
        };
        assert!(line.any_unsure());
        let job = line.job_in(egui::FontId::proportional(14.0), &t);
        assert_eq!(job.text, "[00:03] Take metoprolol daily.");
        let underlined: Vec<&str> = job
            .sections
            .iter()
            .filter(|s| s.format.underline != egui::Stroke::NONE)
            .map(|s| &job.text[s.byte_range.start.0..s.byte_range.end.0])
            .collect();
        assert_eq!(underlined, vec!["metoprolol"]);
        let warned = job
            .sections
            .iter()
            .filter(|s| s.format.color == t.palette.warning)
            .count();
        assert_eq!(warned, 1);
    }

    #[test]
    fn the_recording_clock() {
        assert_eq!(super::clock(0), "00:00");
        assert_eq!(super::clock(61_999), "01:01");
        assert_eq!(super::clock(3_723_000), "1:02:03");
    }

    #[test]
    fn formats_a_known_time() {
        assert_eq!(super::format_ms(1_700_000_000_000), "2023-11-14 22:13 UTC");
    }
}
