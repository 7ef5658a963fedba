//! Design tokens: the only place a colour, a spacing or a text size is
//! written down. Screens ask [`Tokens`] for "the colour of a warning" or
//! "the gap between groups", never for a literal, so the dark and light
//! themes are two values of one struct and a screen cannot drift from them.

use egui::{Color32, CornerRadius, FontId, Margin, Stroke, Visuals};

/// Which of the two themes is active.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThemeKind {
    Dark,
    Light,
}

impl ThemeKind {
    pub fn toggled(self) -> Self {
        match self {
            ThemeKind::Dark => ThemeKind::Light,
            ThemeKind::Light => ThemeKind::Dark,
        }
    }
}

/// Colours by meaning.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Palette {
    pub background: Color32,
    pub panel: Color32,
    pub surface: Color32,
    /// Inside of a text field, distinct from the card it sits on.
    pub field: Color32,
    pub border: Color32,
    pub text: Color32,
    pub text_weak: Color32,
    pub accent: Color32,
    /// Text the AI wrote and no clinician has accepted yet.
    pub ai_draft: Color32,
    pub success: Color32,
    pub warning: Color32,
    pub danger: Color32,
    /// Background of the section that keyboard navigation points at.
    pub focus: Color32,
}

/// Spacing, radii, text sizes and the palette of one theme.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tokens {
    pub kind: ThemeKind,
    pub space_xs: f32,
    pub space_s: f32,
    pub space_m: f32,
    pub space_l: f32,
    pub radius_s: u8,
    pub radius_m: u8,
    pub text_small: f32,
    pub text_body: f32,
    pub text_heading: f32,
    pub text_title: f32,
    /// Width of the narrow forms (unlock, new session).
    pub form_width: f32,
    pub palette: Palette,
}

impl Tokens {
    pub fn for_kind(kind: ThemeKind) -> Self {
        match kind {
            ThemeKind::Dark => Self::dark(),
            ThemeKind::Light => Self::light(),
        }
    }

    fn base(kind: ThemeKind, palette: Palette) -> Self {
        Self {
            kind,
            space_xs: 4.0,
            space_s: 8.0,
            space_m: 12.0,
            space_l: 20.0,
            radius_s: 4,
            radius_m: 8,
            text_small: 12.0,
            text_body: 14.5,
            text_heading: 18.0,
            text_title: 24.0,
            form_width: 420.0,
            palette,
        }
    }

    pub fn dark() -> Self {
        Self::base(
            ThemeKind::Dark,
            Palette {
                background: Color32::from_rgb(0x17, 0x1a, 0x1f),
                panel: Color32::from_rgb(0x1e, 0x22, 0x29),
                surface: Color32::from_rgb(0x26, 0x2b, 0x34),
                field: Color32::from_rgb(0x12, 0x15, 0x19),
                border: Color32::from_rgb(0x3a, 0x41, 0x4d),
                text: Color32::from_rgb(0xe6, 0xe9, 0xef),
                text_weak: Color32::from_rgb(0x9a, 0xa3, 0xb2),
                accent: Color32::from_rgb(0x5b, 0xa8, 0xf5),
                ai_draft: Color32::from_rgb(0xc9, 0xb6, 0xf2),
                success: Color32::from_rgb(0x5c, 0xc9, 0x8a),
                warning: Color32::from_rgb(0xf0, 0xb4, 0x48),
                danger: Color32::from_rgb(0xf2, 0x6d, 0x6d),
                focus: Color32::from_rgb(0x2c, 0x3a, 0x52),
            },
        )
    }

    pub fn light() -> Self {
        Self::base(
            ThemeKind::Light,
            Palette {
                background: Color32::from_rgb(0xf6, 0xf7, 0xf9),
                panel: Color32::from_rgb(0xff, 0xff, 0xff),
                surface: Color32::from_rgb(0xee, 0xf1, 0xf5),
                field: Color32::from_rgb(0xff, 0xff, 0xff),
                border: Color32::from_rgb(0xc9, 0xd0, 0xda),
                text: Color32::from_rgb(0x1b, 0x1f, 0x26),
                text_weak: Color32::from_rgb(0x5a, 0x63, 0x70),
                accent: Color32::from_rgb(0x1f, 0x6f, 0xd1),
                ai_draft: Color32::from_rgb(0x5b, 0x3c, 0xa8),
                success: Color32::from_rgb(0x1d, 0x8a, 0x4e),
                warning: Color32::from_rgb(0xa8, 0x64, 0x00),
                danger: Color32::from_rgb(0xc0, 0x2b, 0x2b),
                focus: Color32::from_rgb(0xdc, 0xe9, 0xfb),
            },
        )
    }

    /// egui's visuals, coloured from the tokens.
    pub fn visuals(&self) -> Visuals {
        let p = &self.palette;
        let mut v = match self.kind {
            ThemeKind::Dark => Visuals::dark(),
            ThemeKind::Light => Visuals::light(),
        };
        v.panel_fill = p.panel;
        v.window_fill = p.panel;
        v.extreme_bg_color = p.field;
        v.text_edit_bg_color = Some(p.field);
        v.widgets.inactive.bg_stroke = Stroke::new(1.0, p.border);
        v.faint_bg_color = p.surface;
        v.override_text_color = Some(p.text);
        v.hyperlink_color = p.accent;
        v.selection.bg_fill = p.focus;
        v.selection.stroke = Stroke::new(1.0, p.accent);
        v.widgets.noninteractive.bg_stroke = Stroke::new(1.0, p.border);
        v.window_stroke = Stroke::new(1.0, p.border);
        v.warn_fg_color = p.warning;
        v.error_fg_color = p.danger;
        v
    }

    /// Applies the theme to a context (visuals and text sizes).
    pub fn apply(&self, ctx: &egui::Context) {
        ctx.set_visuals(self.visuals());
        let sizes = [
            (egui::TextStyle::Small, self.text_small),
            (egui::TextStyle::Body, self.text_body),
            (egui::TextStyle::Button, self.text_body),
            (egui::TextStyle::Monospace, self.text_body - 1.0),
            (egui::TextStyle::Heading, self.text_heading),
        ];
        ctx.global_style_mut(|style| {
            for (ts, size) in sizes {
                let family = if ts == egui::TextStyle::Monospace {
                    egui::FontFamily::Monospace
                } else {
                    egui::FontFamily::Proportional
                };
                style.text_styles.insert(ts, FontId::new(size, family));
            }
            style.spacing.item_spacing = egui::vec2(self.space_s, self.space_s * 0.75);
            style.spacing.button_padding = egui::vec2(self.space_s + 2.0, self.space_xs + 1.0);
        });
    }

    /// A card: a group of related controls on a raised surface.
    pub fn card(&self) -> egui::Frame {
        egui::Frame::new()
            .fill(self.palette.surface)
            .stroke(Stroke::new(1.0, self.palette.border))
            .corner_radius(CornerRadius::same(self.radius_m))
            .inner_margin(Margin::same(self.space_m as i8))
    }

    /// A card drawn in a state's colour (an error, a confirmation).
    pub fn banner(&self, colour: Color32) -> egui::Frame {
        egui::Frame::new()
            .fill(self.palette.surface)
            .stroke(Stroke::new(2.0, colour))
            .corner_radius(CornerRadius::same(self.radius_m))
            .inner_margin(Margin::same(self.space_m as i8))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_two_themes_differ_and_toggle() {
        assert_ne!(Tokens::dark().palette, Tokens::light().palette);
        assert_eq!(ThemeKind::Dark.toggled(), ThemeKind::Light);
        assert!(Tokens::dark().visuals().dark_mode);
        assert!(!Tokens::light().visuals().dark_mode);
    }
}
