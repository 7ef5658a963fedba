//! The input device a live recording uses, chosen one way for both front
//! ends: the one asked for now, else the remembered one if it is
//! connected, else the default input (`tacet_app::recording`'s rule, fed
//! with the devices the system lists).

use std::path::Path;
use tacet_app::recording::{self, DeviceChoice};

/// The device chosen, and what a person should be told about the choice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChosenDevice {
    pub choice: DeviceChoice,
    /// The remembered preference could not be read (the default input is
    /// used instead); shown as a warning, never fatal.
    pub warning: Option<String>,
}

/// Chooses the input device for a recording: `requested`, else the
/// remembered one if connected, else the default input. When the devices
/// cannot be listed, the remembered one is tried (opening it says more).
pub fn choose_input_device(data_dir: &Path, requested: Option<&str>) -> ChosenDevice {
    let (remembered, warning) = match recording::remembered_input_device(data_dir) {
        Ok(r) => (r, None),
        Err(e) => (None, Some(format!("{e}; the default input is used"))),
    };
    let available: Vec<String> = match (&remembered, requested) {
        (Some(r), None) => match tacet_audio::list_input_devices() {
            Ok(list) => list.into_iter().map(|d| d.id).collect(),
            Err(_) => vec![r.clone()],
        },
        _ => Vec::new(),
    };
    let ids: Vec<&str> = available.iter().map(String::as_str).collect();
    ChosenDevice {
        choice: recording::choose_input_device(requested, remembered.as_deref(), &ids),
        warning,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on a broken fixture
    use super::*;

    #[test]
    fn asked_for_wins_and_an_unreadable_preference_warns_and_falls_back() {
        let dir = tempfile::tempdir().unwrap();
        let chosen = choose_input_device(dir.path(), Some("alsa:hw1"));
        assert_eq!(chosen.choice, DeviceChoice::Requested("alsa:hw1".into()));
        assert_eq!(chosen.warning, None);
        // Nothing remembered, nothing asked for: the default input.
        let chosen = choose_input_device(dir.path(), None);
        assert_eq!(chosen.choice, DeviceChoice::Default);
        // A preference file that holds no device id: a warning, the default.
        std::fs::write(dir.path().join(recording::INPUT_DEVICE_FILE), "bad\u{7}id").unwrap();
        let chosen = choose_input_device(dir.path(), None);
        assert_eq!(chosen.choice, DeviceChoice::Default);
        let warning = chosen.warning.expect("a warning");
        assert!(warning.contains("default input is used"), "{warning}");
    }
}
