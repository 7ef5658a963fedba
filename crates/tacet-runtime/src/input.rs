//! The input device a live recording uses, chosen one way for both front
//! ends: the one asked for now, else the remembered one if it is
//! connected, else the default input (`tacet_app::recording`'s rule, fed
//! with the devices the system lists).
//!
//! The remembered device is a per-installation file, not a vault setting:
//! `<data dir>/input-device` holds one device id. It is a property of the
//! computer (which microphone is plugged in), not of a user or a patient;
//! it must be readable before unlock (the device picker is filled while
//! the vault is still opening) and changing it must not need an admin,
//! whereas vault settings are admin-only, audited retention rules. A device
//! id names hardware, never a person.

use std::path::{Path, PathBuf};
use tacet_app::recording::{self, DeviceChoice};

/// The file in the data directory that remembers the chosen input device.
pub const INPUT_DEVICE_FILE: &str = "input-device";

/// Longest device id kept (cpal ids are short: "alsa:default").
const MAX_DEVICE_ID_BYTES: usize = 512;

#[derive(Debug, thiserror::Error)]
pub enum PreferenceError {
    #[error("could not read the remembered input device from {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("could not remember the input device in {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} does not hold a device id (empty, over {MAX_DEVICE_ID_BYTES} bytes, or with control characters); delete it and choose the device again")]
    Invalid { path: PathBuf },
    #[error(
        "an input device id must be 1 to {MAX_DEVICE_ID_BYTES} bytes without control characters"
    )]
    BadId,
}

fn valid_device_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_DEVICE_ID_BYTES && !id.chars().any(char::is_control)
}

/// The input device remembered for this installation, `None` when none
/// was ever chosen.
pub fn remembered_input_device(data_dir: &Path) -> Result<Option<String>, PreferenceError> {
    let path = data_dir.join(INPUT_DEVICE_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(PreferenceError::Read { path, source }),
    };
    let id = text.trim_end_matches(['\n', '\r']);
    if !valid_device_id(id) {
        return Err(PreferenceError::Invalid { path });
    }
    Ok(Some(id.to_string()))
}

/// Remembers `device_id` for the next recording (written to a temporary
/// file and renamed, so a crash leaves the old choice or the new one).
pub fn remember_input_device(data_dir: &Path, device_id: &str) -> Result<(), PreferenceError> {
    if !valid_device_id(device_id) {
        return Err(PreferenceError::BadId);
    }
    let path = data_dir.join(INPUT_DEVICE_FILE);
    let tmp = data_dir.join(format!("{INPUT_DEVICE_FILE}.tmp"));
    std::fs::write(&tmp, format!("{device_id}\n"))
        .and_then(|()| std::fs::rename(&tmp, &path))
        .map_err(|source| PreferenceError::Write { path, source })
}

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
    let (remembered, warning) = match remembered_input_device(data_dir) {
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
    fn the_remembered_device_round_trips_and_falls_back_when_gone() {
        let dir = std::env::temp_dir().join(format!("tacet-pref-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let _ = std::fs::remove_file(dir.join(INPUT_DEVICE_FILE));
        assert_eq!(remembered_input_device(&dir).unwrap(), None);
        remember_input_device(&dir, "alsa:pulse").unwrap();
        assert_eq!(
            remembered_input_device(&dir).unwrap().as_deref(),
            Some("alsa:pulse")
        );
        remember_input_device(&dir, "alsa:default").unwrap();
        let remembered = remembered_input_device(&dir).unwrap();
        assert_eq!(remembered.as_deref(), Some("alsa:default"));
        let available = ["alsa:default", "alsa:pulse"];
        let c = recording::choose_input_device(None, remembered.as_deref(), &available);
        assert_eq!(c, DeviceChoice::Remembered("alsa:default".into()));
        assert_eq!(c.device(), Some("alsa:default"));
        assert_eq!(c.notice(), None);
        let c =
            recording::choose_input_device(Some("alsa:pulse"), Some("alsa:default"), &available);
        assert_eq!(c.device(), Some("alsa:pulse"));
        let gone = recording::choose_input_device(None, Some("alsa:usb-mic"), &available);
        assert_eq!(gone.device(), None, "falls back to the default input");
        assert!(gone.notice().unwrap().contains("alsa:usb-mic"));
        assert_eq!(
            recording::choose_input_device(None, None, &available),
            DeviceChoice::Default
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn fail_a_bad_remembered_device_file_or_id() {
        let dir = std::env::temp_dir().join(format!("tacet-pref-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(INPUT_DEVICE_FILE), "a\u{7}b\n").unwrap();
        let err = remembered_input_device(&dir).unwrap_err();
        assert!(err.to_string().contains(INPUT_DEVICE_FILE), "{err}");
        assert!(matches!(
            remember_input_device(&dir, "two\nlines"),
            Err(PreferenceError::BadId)
        ));
        assert!(matches!(
            remember_input_device(&dir, ""),
            Err(PreferenceError::BadId)
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

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
        std::fs::write(dir.path().join(INPUT_DEVICE_FILE), "bad\u{7}id").unwrap();
        let chosen = choose_input_device(dir.path(), None);
        assert_eq!(chosen.choice, DeviceChoice::Default);
        let warning = chosen.warning.expect("a warning");
        assert!(warning.contains("default input is used"), "{warning}");
    }
}
