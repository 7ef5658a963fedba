//! Choosing a file or a folder inside the window, for every path a person
//! would otherwise type: the recording to transcribe, the
//! folder of models, the audit anchor, where a note or a report is saved.
//!
//! Why not the desktop's own dialog: on Linux that is the XDG portal, a
//! D-Bus call out of the process, and the hardened process keeps its local
//! sockets to audio and display; a dialog drawn by the app itself needs no
//! bus, looks the same on every platform, and is driven by the same
//! kittest suites as every other screen. (`egui_file` was tried: its icons
//! are glyphs egui's bundled fonts do not have.) It only lists names — the
//! folders, and the files the field can use — and the chosen path goes
//! into the same field a person can type into; nothing is read or written
//! until the screen's own button is pressed.

use std::path::{Path, PathBuf};

/// Which path field a picker fills.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathField {
    /// A recording to transcribe (audio files only are listed).
    Recording,
    /// First run: the folder (or removable disk) with the model files.
    ModelsFolder,
    /// The audit anchor folder, outside the data folder.
    AnchorFolder,
    /// A new file for the attested note.
    SaveNote,
    /// A new file for the installation report.
    SaveReport,
}

/// The recordings the app decodes, by extension (tacet-audio's containers).
pub const AUDIO_EXTENSIONS: [&str; 9] = [
    "wav", "wave", "flac", "mp3", "m4a", "aac", "ogg", "oga", "opus",
];

impl PathField {
    /// The button's accessible name (unique on its screen).
    pub fn browse_label(self) -> &'static str {
        match self {
            Self::Recording => "Choose a recording…",
            Self::ModelsFolder => "Choose the models folder…",
            Self::AnchorFolder => "Choose the anchor folder…",
            Self::SaveNote => "Choose where to save the note…",
            Self::SaveReport => "Choose where to save the report…",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Self::Recording => "Choose a recording",
            Self::ModelsFolder => "Choose the folder with the model files",
            Self::AnchorFolder => "Choose a folder outside the data folder",
            Self::SaveNote => "Save the note as",
            Self::SaveReport => "Save the report as",
        }
    }
}

/// Whether `path` names a recording the app can decode, by its extension.
pub fn is_audio_file(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| AUDIO_EXTENSIONS.iter().any(|a| e.eq_ignore_ascii_case(a)))
}

/// One row of the picker's list.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    name: String,
    is_dir: bool,
}

/// A picker open over the window.
pub(crate) struct Picker {
    field: PathField,
    folder: PathBuf,
    entries: Result<Vec<Entry>, String>,
    /// The file chosen in the list (open), or the name typed (save).
    name: String,
}

/// What a frame of the picker gave.
pub(crate) enum Picked {
    Open,
    Chosen(PathField, PathBuf),
    Closed,
}

impl PathField {
    fn wants_folder(self) -> bool {
        matches!(self, Self::ModelsFolder | Self::AnchorFolder)
    }

    fn saves(self) -> bool {
        matches!(self, Self::SaveNote | Self::SaveReport)
    }
}

/// The folders and the files `field` can use in `folder`, folders first,
/// each group by name; hidden entries are left out.
fn list(folder: &Path, field: PathField) -> Result<Vec<Entry>, String> {
    let read =
        std::fs::read_dir(folder).map_err(|e| format!("This folder cannot be read ({e})."))?;
    let mut entries: Vec<Entry> = read
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_str()?.to_string();
            if name.starts_with('.') {
                return None;
            }
            let is_dir = e.path().is_dir();
            let shown = is_dir
                || match field {
                    PathField::Recording => is_audio_file(&e.path()),
                    PathField::SaveNote | PathField::SaveReport => true,
                    PathField::ModelsFolder | PathField::AnchorFolder => false,
                };
            shown.then_some(Entry { name, is_dir })
        })
        .collect();
    entries.sort_by(|a, b| {
        b.is_dir
            .cmp(&a.is_dir)
            .then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase()))
    });
    Ok(entries)
}

/// Where removable disks are mounted on Linux desktops, those that exist.
fn removable_roots() -> Vec<PathBuf> {
    let user = std::env::var("USER").unwrap_or_default();
    [
        PathBuf::from("/media").join(&user),
        PathBuf::from("/run/media").join(&user),
        PathBuf::from("/media"),
        PathBuf::from("/mnt"),
    ]
    .into_iter()
    .filter(|p| p.is_dir())
    .take(1)
    .collect()
}

impl Picker {
    /// Opens a picker for `field`, starting where `current` (the field's
    /// text) points, else in the home folder.
    pub(crate) fn open(field: PathField, current: &str) -> Self {
        let folder = start_folder(current).unwrap_or_else(|| PathBuf::from("/"));
        // The file typed so far stays chosen (a recording that exists, or
        // the name a save would use).
        let typed = Path::new(current.trim());
        let keeps_name = if field.saves() {
            !typed.is_dir()
        } else {
            field == PathField::Recording && typed.is_file()
        };
        let name = typed
            .file_name()
            .filter(|_| keeps_name)
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let entries = list(&folder, field);
        Self {
            field,
            folder,
            entries,
            name,
        }
    }

    fn go(&mut self, folder: PathBuf) {
        self.entries = list(&folder, self.field);
        self.folder = folder;
        if !self.field.saves() {
            self.name.clear();
        }
    }

    /// Draws the picker; says whether a path was chosen or it was closed.
    pub(crate) fn show(&mut self, ctx: &egui::Context) -> Picked {
        let mut open = true;
        let mut picked = Picked::Open;
        let mut go_to: Option<PathBuf> = None;
        egui::Window::new(self.field.title())
            .collapsible(false)
            .resizable(true)
            .default_size([620.0, 420.0])
            .anchor(egui::Align2::CENTER_CENTER, [0.0, 0.0])
            .open(&mut open)
            .show(ctx, |ui| {
                ui.horizontal_wrapped(|ui| {
                    ui.label(format!("Folder: {}", self.folder.display()));
                });
                ui.horizontal(|ui| {
                    if ui
                        .add_enabled(
                            self.folder.parent().is_some(),
                            egui::Button::new("Up one folder"),
                        )
                        .clicked()
                    {
                        go_to = self.folder.parent().map(Path::to_path_buf);
                    }
                    if let Some(home) = std::env::var_os("HOME") {
                        if ui.button("Home folder").clicked() {
                            go_to = Some(PathBuf::from(home));
                        }
                    }
                    for root in removable_roots() {
                        if ui.button("Removable disks").clicked() {
                            go_to = Some(root);
                        }
                    }
                });
                ui.separator();
                egui::ScrollArea::vertical()
                    .max_height(260.0)
                    .auto_shrink([false, true])
                    .show(ui, |ui| match &self.entries {
                        Err(why) => {
                            ui.label(why.as_str());
                        }
                        Ok(entries) if entries.is_empty() => {
                            ui.label(match self.field {
                                PathField::Recording => "No recordings or folders here.",
                                _ => "No folders here.",
                            });
                        }
                        Ok(entries) => {
                            for e in entries {
                                if e.is_dir {
                                    // One click opens a folder.
                                    if ui.selectable_label(false, format!("{}/", e.name)).clicked()
                                    {
                                        go_to = Some(self.folder.join(&e.name));
                                    }
                                } else {
                                    let r = ui.selectable_label(self.name == e.name, &e.name);
                                    if r.clicked() {
                                        self.name = e.name.clone();
                                    }
                                    if r.double_clicked() {
                                        picked =
                                            Picked::Chosen(self.field, self.folder.join(&e.name));
                                    }
                                }
                            }
                        }
                    });
                ui.separator();
                if self.field.saves() {
                    let l = ui.label("File name");
                    ui.add(egui::TextEdit::singleline(&mut self.name).desired_width(360.0))
                        .labelled_by(l.id);
                }
                ui.horizontal(|ui| {
                    let (label, ready) = if self.field.wants_folder() {
                        ("Choose this folder", true)
                    } else {
                        ("Choose", !self.name.trim().is_empty())
                    };
                    if ui.add_enabled(ready, egui::Button::new(label)).clicked() {
                        let path = if self.field.wants_folder() {
                            self.folder.clone()
                        } else {
                            self.folder.join(self.name.trim())
                        };
                        picked = Picked::Chosen(self.field, path);
                    }
                    if ui.button("Cancel").clicked() {
                        picked = Picked::Closed;
                    }
                });
            });
        if let Some(folder) = go_to {
            self.go(folder);
        }
        if !open || ctx.input(|i| i.key_pressed(egui::Key::Escape)) {
            return Picked::Closed;
        }
        picked
    }
}

/// Where a picker starts: the folder of the path typed so far (or that
/// folder itself), else the home folder.
fn start_folder(current: &str) -> Option<PathBuf> {
    let typed = Path::new(current.trim());
    if !current.trim().is_empty() {
        if typed.is_dir() {
            return Some(typed.to_path_buf());
        }
        if let Some(parent) = typed.parent().filter(|p| p.is_dir()) {
            return Some(parent.to_path_buf());
        }
    }
    std::env::var_os("HOME").map(PathBuf::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recordings_are_known_by_their_extension_in_any_case() {
        for ok in ["visit.wav", "a/b/visit.FLAC", "memo.m4a", "x.opus", "y.Mp3"] {
            assert!(is_audio_file(Path::new(ok)), "{ok}");
        }
        for no in ["notes.txt", "visit", "model.gguf", "wav"] {
            assert!(!is_audio_file(Path::new(no)), "{no}");
        }
    }
}
