//! Unlock: user name and passphrase. Nothing else is reachable while locked.

use super::field;
use crate::state::{UiCommand, ViewState};
use crate::tokens::Tokens;
use egui::RichText;

pub fn show(ui: &mut egui::Ui, st: &mut ViewState, t: &Tokens, out: &mut Vec<UiCommand>) {
    ui.vertical_centered(|ui| {
        ui.add_space(t.space_l * 2.0);
        ui.set_max_width(t.form_width);
        t.card().show(ui, |ui| {
            ui.set_width(t.form_width);
            ui.label(RichText::new("Unlock Tacet").size(t.text_title).strong());
            ui.label(
                RichText::new("Everything stays on this computer, encrypted with your passphrase.")
                    .color(t.palette.text_weak),
            );
            ui.add_space(t.space_m);
            field(
                ui,
                "User name",
                &mut st.unlock.user,
                false,
                t.form_width - 2.0 * t.space_m,
            );
            ui.add_space(t.space_s);
            let pass = field(
                ui,
                "Passphrase",
                &mut st.unlock.passphrase,
                true,
                t.form_width - 2.0 * t.space_m,
            );
            let enter = pass.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            ui.add_space(t.space_m);
            let busy = st.busy.is_some();
            let clicked = ui.add_enabled(!busy, egui::Button::new("Unlock")).clicked();
            if (clicked || enter) && !busy {
                out.push(UiCommand::Unlock);
            }
            if let Some(b) = &st.busy {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label(&b.label);
                });
            }
            ui.add_space(t.space_s);
            super::hint(
                ui,
                t,
                format!(
                    "Tacet locks itself after {} minute(s) without activity.",
                    st.settings.auto_lock_minutes
                ),
            );
        });
    });
}
