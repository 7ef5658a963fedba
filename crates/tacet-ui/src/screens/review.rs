//! The review gate and the export that follows it.
//!
//! Review shows no copy, save or export control at all — not disabled,
//! absent — because the note is not a note until it is attested. Export
//! exists only once an attestation came back from the backend.
//!
//! Each section is shown sentence by sentence as the grounding cut it, so a
//! click on a sentence can light up the transcript segments it rests on. A
//! flagged sentence sits in a box in the warning colour with its flags and
//! the one way to keep it as written — "Accept flag" and a reason — and the
//! box goes away by itself once an edit takes the sentence out of the note.
//! When the edited text no longer lines up with the drafted sentences the
//! section is shown whole, with the flagged sentences it still holds below.

use super::{chip, field, TranscriptLine, UNSURE_HOVER};
use crate::app::{attest_blocker, flags_unresolved, EMPTY_NOTE_WARNING};
use crate::backend::{SentenceView, LOW_CONFIDENCE_BELOW};
use crate::state::{FlagAcceptance, SectionReview, SectionStatus, UiCommand, ViewState, Work};
use crate::tokens::Tokens;
use egui::RichText;
use tacet_core::review::{ATTESTATION_STATEMENT, CONFIRM_EMPTY_STATEMENT};

pub fn show(
    ui: &mut egui::Ui,
    st: &mut ViewState,
    t: &Tokens,
    scroll_to_focus: &mut bool,
    out: &mut Vec<UiCommand>,
) {
    let open_flags = st.work.open_flags();
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
        if open_flags > 0 {
            chip(ui, t, &flags_unresolved(open_flags), t.palette.warning);
        } else if st.work.grounding.is_some() {
            chip(ui, t, "no open flags", t.palette.success);
        } else {
            chip(
                ui,
                t,
                "checking the draft against the transcript…",
                t.palette.text_weak,
            );
        }
    });
    ui.label(
        RichText::new("Accept or edit every section and answer every flag, then attest. Click a sentence to see its evidence in the transcript. Nothing can be copied or exported before you attest.")
            .color(t.palette.text_weak),
    );
    if let Some(notice) = &st.work.coverage_notice {
        t.banner(t.palette.warning).show(ui, |ui| {
            ui.label(RichText::new(notice));
        });
    }
    let empty_note = st.work.is_empty_note();
    if empty_note {
        // Never silently: a note that says nothing is attested only with the
        // confirmation below (and the application layer checks it again).
        t.banner(t.palette.warning).show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.label(
                RichText::new(EMPTY_NOTE_WARNING)
                    .strong()
                    .color(t.palette.warning),
            );
            ui.label(format!(
                "Check the transcript and edit the sections that the visit covered. If the note is meant to be empty, tick \"{CONFIRM_EMPTY_STATEMENT}\" below."
            ));
        });
    }
    ui.add_space(t.space_s);
    // The attestation card below, one row taller with the empty-note box.
    let attest_height = if empty_note { 200.0 } else { 170.0 };
    let height = (ui.available_height() - attest_height).max(200.0);
    let present: Vec<bool> = st
        .work
        .grounding
        .as_ref()
        .map(|g| {
            (0..g.sentences.len())
                .map(|i| st.work.flag_present(i))
                .collect()
        })
        .unwrap_or_default();
    let highlighted = st.work.highlighted_segments();
    let Work {
        sections,
        grounding,
        acceptances,
        selected_sentence,
        scroll_to_evidence,
        focused,
        transcript,
        ..
    } = &mut st.work;
    let sentences = grounding
        .as_ref()
        .map(|g| g.sentences.as_slice())
        .unwrap_or_default();
    // Flags are numbered over the whole note, in note order.
    let mut numbers = vec![0usize; sentences.len()];
    let mut n = 0;
    for (i, s) in sentences.iter().enumerate() {
        if !s.flags.is_empty() {
            n += 1;
            numbers[i] = n;
        }
    }
    let mut sentence_ctx = SentenceCtx {
        sentences,
        acceptances,
        present: &present,
        numbers: &numbers,
        selected: *selected_sentence,
    };
    ui.columns(2, |cols| {
        let ui = &mut cols[0];
        egui::ScrollArea::vertical()
            .id_salt("review_sections")
            .max_height(height)
            .show(ui, |ui| {
                for (i, s) in sections.iter_mut().enumerate() {
                    let is_focused = *focused == Some(i);
                    let frame = if is_focused {
                        t.banner(t.palette.accent)
                    } else {
                        t.card()
                    };
                    let r = frame.show(ui, |ui| {
                        ui.set_width(ui.available_width());
                        section_header(ui, t, i, s, out);
                        if !s.guidance.is_empty() {
                            super::hint(ui, t, &s.guidance);
                        }
                        let mine: Vec<usize> = sentence_ctx
                            .sentences
                            .iter()
                            .enumerate()
                            .filter(|(_, x)| x.section == s.heading)
                            .map(|(k, _)| k)
                            .collect();
                        if s.status == SectionStatus::Editing {
                            let l = ui.label(format!("Edit {}", s.heading));
                            ui.add(
                                egui::TextEdit::multiline(&mut s.text)
                                    .desired_rows(4)
                                    .desired_width(f32::INFINITY),
                            )
                            .labelled_by(l.id);
                            sentence_ctx.flag_boxes(ui, t, &mine, out);
                            return;
                        }
                        let colour = if s.status == SectionStatus::NeedsReview {
                            t.palette.ai_draft
                        } else {
                            t.palette.text
                        };
                        let split = (s.text == s.drafted)
                            .then(|| {
                                let texts: Vec<(usize, &str)> = mine
                                    .iter()
                                    .map(|&k| (k, sentence_ctx.sentences[k].text.as_str()))
                                    .collect();
                                pieces(&s.text, &texts)
                            })
                            .flatten()
                            .filter(|p| p.iter().any(|x| matches!(x, Piece::Sentence(_))));
                        match split {
                            Some(parts) => {
                                for part in parts {
                                    match part {
                                        Piece::Plain(text) => {
                                            if !text.trim().is_empty() {
                                                ui.label(RichText::new(text.trim()).color(colour));
                                            }
                                        }
                                        Piece::Sentence(k) => {
                                            sentence_ctx.sentence(ui, t, k, colour, out)
                                        }
                                    }
                                }
                            }
                            None => {
                                // Edited text no longer lines up with the
                                // drafted sentences: show it whole, and the
                                // flagged sentences it still holds below.
                                let body = if s.text.trim().is_empty() {
                                    "(nothing recorded)"
                                } else {
                                    s.text.as_str()
                                };
                                ui.label(RichText::new(body).color(colour));
                                sentence_ctx.flag_boxes(ui, t, &mine, out);
                            }
                        }
                    });
                    if is_focused && *scroll_to_focus {
                        r.response.scroll_to_me(Some(egui::Align::TOP));
                        *scroll_to_focus = false;
                    }
                    ui.add_space(t.space_s);
                }
            });
        transcript_column(
            &mut cols[1],
            t,
            TranscriptView {
                transcript: transcript.as_ref(),
                highlighted: &highlighted,
                selected: selected_sentence.is_some(),
                scroll_to_evidence,
                height,
            },
        );
    });
    ui.add_space(t.space_s);
    attestation_card(ui, st, t, empty_note, out);
}

/// What the review's transcript column shows.
struct TranscriptView<'a> {
    transcript: Option<&'a tacet_core::Transcript>,
    /// The segments that support the selected sentence.
    highlighted: &'a [u32],
    /// A sentence is selected (so an empty `highlighted` says "none").
    selected: bool,
    /// Scroll the first evidence segment into view once.
    scroll_to_evidence: &'a mut bool,
    height: f32,
}

/// The transcript beside the note, the selected sentence's evidence
/// highlighted and the words the engine was unsure of marked.
fn transcript_column(ui: &mut egui::Ui, t: &Tokens, view: TranscriptView<'_>) {
    let TranscriptView {
        transcript,
        highlighted,
        selected,
        scroll_to_evidence,
        height,
    } = view;
    t.card().show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.label(RichText::new("Transcript").size(t.text_heading).strong());
        egui::ScrollArea::vertical()
            .id_salt("review_transcript")
            .max_height(height - 40.0)
            .show(ui, |ui| {
                let Some(transcript) = transcript else {
                    return;
                };
                if selected && highlighted.is_empty() {
                    ui.label(
                        RichText::new(
                            "No segment of the transcript supports the selected sentence.",
                        )
                        .color(t.palette.warning),
                    );
                }
                for seg in &transcript.segments {
                    let secs = seg.start_ms / 1000;
                    let unsure = seg.confidence < LOW_CONFIDENCE_BELOW;
                    let prefix = format!("[{:02}:{:02}] ", secs / 60, secs % 60);
                    let pieces = seg.pieces();
                    // Words the engine was unsure of, marked as on the
                    // record screen: check them against the audio.
                    let line = TranscriptLine {
                        prefix: &prefix,
                        pieces: &pieces,
                        whole_unsure: unsure,
                        suffix: if unsure { " (unsure)" } else { "" },
                        colour: t.palette.text,
                        italics: false,
                    };
                    let text = line.job(ui, t);
                    if !highlighted.contains(&seg.id) {
                        let r = ui.label(text);
                        if line.any_unsure() {
                            r.on_hover_text(UNSURE_HOVER);
                        }
                        continue;
                    }
                    let r = t.banner(t.palette.accent).show(ui, |ui| {
                        ui.set_width(ui.available_width());
                        chip(ui, t, "evidence", t.palette.accent);
                        ui.label(text);
                    });
                    if *scroll_to_evidence && highlighted.first() == Some(&seg.id) {
                        r.response.scroll_to_me(Some(egui::Align::Center));
                        *scroll_to_evidence = false;
                    }
                }
            });
    });
}

/// The attestation: the statement (and, for a note that says nothing, the
/// confirmation), the passphrase re-entered, and what still stands in the
/// way.
fn attestation_card(
    ui: &mut egui::Ui,
    st: &mut ViewState,
    t: &Tokens,
    empty_note: bool,
    out: &mut Vec<UiCommand>,
) {
    t.card().show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.label(RichText::new("Attestation").size(t.text_heading).strong());
        if empty_note {
            ui.checkbox(&mut st.work.confirm_empty, CONFIRM_EMPTY_STATEMENT);
        }
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
            }
        });
        if let (None, Some(reason)) = (&st.busy, attest_blocker(&st.work)) {
            // On its own line: it can be long, and it wraps here.
            ui.label(RichText::new(reason).color(t.palette.text_weak));
        }
        if let Some(refusal) = &st.work.attest_refusal {
            ui.label(RichText::new(format!("Not attested: {refusal}")).color(t.palette.danger));
        }
    });
}

/// A section's heading row: its name, its status, and what can be done.
fn section_header(
    ui: &mut egui::Ui,
    t: &Tokens,
    i: usize,
    s: &SectionReview,
    out: &mut Vec<UiCommand>,
) {
    ui.horizontal(|ui| {
        ui.label(RichText::new(&s.heading).strong().size(t.text_heading));
        let colour = match s.status {
            SectionStatus::NeedsReview => t.palette.warning,
            SectionStatus::Editing => t.palette.accent,
            SectionStatus::Accepted | SectionStatus::Edited => t.palette.success,
        };
        chip(ui, t, s.status.label(), colour);
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if s.status == SectionStatus::Editing {
                if ui.button(format!("Done editing {}", s.heading)).clicked() {
                    out.push(UiCommand::FinishEdit(i));
                }
            } else {
                if ui.button(format!("Edit {}", s.heading)).clicked() {
                    out.push(UiCommand::EditSection(i));
                }
                if !s.status.is_resolved() && ui.button(format!("Accept {}", s.heading)).clicked() {
                    out.push(UiCommand::AcceptSection(i));
                }
            }
        });
    });
}

/// A section's text cut at its grounded sentences.
#[derive(Debug, PartialEq)]
enum Piece<'a> {
    Plain(&'a str),
    /// An index into the grounding's sentences.
    Sentence(usize),
}

/// Cuts `text` at each sentence in order; `None` when one is not found (the
/// text no longer holds the drafted sentences as they were).
fn pieces<'a>(text: &'a str, sentences: &[(usize, &str)]) -> Option<Vec<Piece<'a>>> {
    let mut out = Vec::new();
    let mut at = 0;
    for &(k, sentence) in sentences {
        let pos = at + text.get(at..)?.find(sentence)?;
        if pos > at {
            out.push(Piece::Plain(&text[at..pos]));
        }
        out.push(Piece::Sentence(k));
        at = pos + sentence.len();
    }
    if at < text.len() {
        out.push(Piece::Plain(&text[at..]));
    }
    Some(out)
}

/// What drawing a sentence needs from the view state.
struct SentenceCtx<'a> {
    sentences: &'a [SentenceView],
    acceptances: &'a mut Vec<FlagAcceptance>,
    /// Per sentence: flagged and still in the note.
    present: &'a [bool],
    /// Per sentence: its flag number (1-based), 0 when it has no flag.
    numbers: &'a [usize],
    selected: Option<usize>,
}

impl SentenceCtx<'_> {
    /// One sentence: a flag box when it is flagged and still in the note,
    /// otherwise a clickable line.
    fn sentence(
        &mut self,
        ui: &mut egui::Ui,
        t: &Tokens,
        k: usize,
        colour: egui::Color32,
        out: &mut Vec<UiCommand>,
    ) {
        if self.present.get(k).copied().unwrap_or(false) {
            self.flag_box(ui, t, k, out);
        } else if let Some(s) = self.sentences.get(k) {
            if sentence_line(ui, t, &s.text, colour, self.selected == Some(k)).clicked() {
                out.push(UiCommand::SelectSentence(k));
            }
        }
    }

    /// The flag boxes of the given sentences that are still in the note.
    fn flag_boxes(
        &mut self,
        ui: &mut egui::Ui,
        t: &Tokens,
        sentences: &[usize],
        out: &mut Vec<UiCommand>,
    ) {
        for &k in sentences {
            if self.present.get(k).copied().unwrap_or(false) {
                self.flag_box(ui, t, k, out);
            }
        }
    }

    /// A flagged sentence in the warning colour, its flags, and the
    /// clinician's answer: accept it as written, with a reason.
    fn flag_box(&mut self, ui: &mut egui::Ui, t: &Tokens, k: usize, out: &mut Vec<UiCommand>) {
        let Some(s) = self.sentences.get(k) else {
            return;
        };
        if self.acceptances.len() <= k {
            self.acceptances.resize(k + 1, FlagAcceptance::default());
        }
        let accepted = self.acceptances[k].is_valid();
        let colour = if accepted {
            t.palette.success
        } else {
            t.palette.warning
        };
        let number = self.numbers.get(k).copied().unwrap_or_default();
        let labels: Vec<&str> = s.flags.iter().map(|f| f.label.as_str()).collect();
        t.banner(colour).show(ui, |ui| {
            ui.set_width(ui.available_width());
            let r = sentence_line(ui, t, &s.text, colour, self.selected == Some(k));
            if r.clicked() {
                out.push(UiCommand::SelectSentence(k));
            }
            ui.horizontal_wrapped(|ui| {
                for label in &labels {
                    chip(ui, t, label, colour);
                }
                if accepted {
                    chip(ui, t, "accepted with a reason", t.palette.success);
                }
            });
            for f in &s.flags {
                ui.label(
                    RichText::new(format!("{}: {}", f.label, f.detail))
                        .color(t.palette.text)
                        .size(t.text_small),
                );
            }
            let a = &mut self.acceptances[k];
            ui.horizontal_wrapped(|ui| {
                ui.checkbox(
                    &mut a.accepted,
                    format!("Accept flag {number} ({})", labels.join(", ")),
                );
                if a.accepted {
                    field(
                        ui,
                        &format!("Reason for accepting flag {number}"),
                        &mut a.reason,
                        false,
                        220.0,
                    );
                }
            });
        });
    }
}

/// A sentence that shows its evidence when clicked; the selected one sits
/// on the focus colour.
fn sentence_line(
    ui: &mut egui::Ui,
    t: &Tokens,
    text: &str,
    colour: egui::Color32,
    selected: bool,
) -> egui::Response {
    let mut frame = egui::Frame::new()
        .corner_radius(egui::CornerRadius::same(t.radius_s))
        .inner_margin(egui::Margin::symmetric(t.space_xs as i8, 1));
    if selected {
        frame = frame.fill(t.palette.focus);
    }
    frame
        .show(ui, |ui| {
            ui.add(
                egui::Label::new(RichText::new(text).color(colour))
                    .sense(egui::Sense::click())
                    .selectable(false),
            )
        })
        .inner
        .on_hover_text("Show its evidence in the transcript")
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
            ui.label(RichText::new("The attested note stays on this screen until you press Finish: copy its sections and save more copies until then.").color(t.palette.text_weak));
            if ui.button("Finish").clicked() {
                out.push(UiCommand::FinishSession);
            }
        });
    } else {
        ui.label(
            RichText::new("The first copy or save exports the note and destroys the session's recording, transcript and draft. You can go on copying sections and saving other formats of this note until you press Finish.")
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
            let cleared = format!(
                "The clipboard is cleared {} s after a copy.",
                st.settings.clipboard_clear_s
            );
            super::hint(ui, t, cleared);
            // Every format of the one attested note, before and after the
            // first export destroys the session (later saves come from the
            // note the backend keeps until Finish, and are audited).
            let again = if st.work.receipt.is_some() {
                "another copy "
            } else {
                ""
            };
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
                super::browse_button(ui, crate::picker::PathField::SaveNote, out);
            });
            if !st.settings.export_dir.is_empty() {
                let saved_in = format!(
                    "Notes are saved in {}; besides its own data folder, Tacet writes nowhere else.",
                    st.settings.export_dir
                );
                super::hint(ui, t, saved_in);
            }
            ui.horizontal_wrapped(|ui| {
                // Every format the core lists: a new one is a button here
                // without a change to this screen.
                for format in tacet_core::ExportFormat::ALL {
                    let label = format!("Save {again}as {}", format.short_label());
                    if ui.add_enabled(!busy, egui::Button::new(label)).clicked() {
                        out.push(UiCommand::SaveAs(format));
                    }
                }
            });
            super::hint(ui, t, save_formats_help());
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
                    // Columns lay out justified, which would stretch the
                    // spaces of every wrapped line of the note.
                    ui.with_layout(egui::Layout::top_down(egui::Align::Min), |ui| {
                        ui.monospace(&attested.text);
                    });
                });
        });
    });
}

/// One line under the save buttons: what each format holds ("Text: the
/// note with its headings and the audit checkpoint. PDF: …").
fn save_formats_help() -> String {
    tacet_core::ExportFormat::ALL
        .iter()
        .map(|f| {
            let label = f.short_label();
            let label = match label.get(..1) {
                Some(first) => format!("{}{}", first.to_uppercase(), &label[1..]),
                None => label.to_string(),
            };
            format!("{label}: {}.", f.description())
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_cut_the_text_at_each_sentence() {
        let p = pieces("A b. Not discussed. C d.", &[(0, "A b."), (1, "C d.")]).unwrap();
        assert_eq!(
            p,
            vec![
                Piece::Sentence(0),
                Piece::Plain(" Not discussed. "),
                Piece::Sentence(1)
            ]
        );
        assert!(pieces("A b.", &[(0, "C d.")]).is_none());
    }

    #[test]
    fn the_line_under_the_save_buttons_says_what_each_format_holds() {
        let line = save_formats_help();
        assert!(
            line.starts_with("Text: the note with its headings and the audit checkpoint. PDF: the same, for printing. FHIR: an R4 DocumentReference for the EHR."),
            "{line}"
        );
        // One sentence for every format the core lists, new ones included.
        for f in tacet_core::ExportFormat::ALL {
            assert!(line.contains(&format!("{}.", f.description())), "{line}");
        }
    }
}
