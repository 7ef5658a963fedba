//! A private PulseAudio server with a null sink, for recording real audio
//! through cpal on a machine without a sound card (CI).
//!
//! Recipe measured in shared/notes/audio-capture-on-this-machine.md: HOME and
//! XDG_RUNTIME_DIR in a temp dir, a null sink `v` (48 kHz stereo f32) whose
//! monitor is the default source, silence kept flowing with `pacat` and a
//! suspend/resume so cpal's first callback comes at once. The server and the
//! silence feeder are killed on drop, also when the test panics.
//!
//! One helper for every crate's tests (`tacet_tests::pulse`): the audio
//! capture's, the streaming transcriber's, the CLI's and the desktop
//! worker's.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct PulseServer {
    pub dir: tempfile::TempDir,
    server: Option<Child>,
    silence: Option<Child>,
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

impl PulseServer {
    /// Starts the server, or prints why not and returns `None`.
    pub fn start() -> Option<PulseServer> {
        for tool in ["pulseaudio", "pactl", "pacat", "paplay"] {
            if !have(tool) {
                crate::skip(&format!("`{tool}` is not installed (apt-get install pulseaudio pulseaudio-utils libasound2-plugins)"));
                return None;
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let runtime = dir.path().join("run");
        std::fs::create_dir(&runtime).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::fs::write(
            dir.path().join("ci.pa"),
            "load-module module-native-protocol-unix\n\
             load-module module-null-sink sink_name=v rate=48000 format=float32le channels=2\n\
             set-default-sink v\n\
             set-default-source v.monitor\n",
        )
        .unwrap();
        let mut me = PulseServer {
            dir,
            server: None,
            silence: None,
        };
        me.server = Some(
            me.command("pulseaudio")
                .args(["-n", "-F"])
                .arg(me.dir.path().join("ci.pa"))
                .args(["--exit-idle-time=-1", "--daemonize=no"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        me.wait_until("pactl info", &["info"], |_| true);
        // Keep silence flowing so the source never idles.
        me.silence = Some(
            me.command("pacat")
                .args([
                    "-p",
                    "--raw",
                    "--format=float32le",
                    "--rate=48000",
                    "--channels=2",
                    "--latency-msec=20",
                    "--device=v",
                ])
                .stdin(std::fs::File::open("/dev/zero").unwrap())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        me.wait_until(
            "the silence stream",
            &["list", "short", "sink-inputs"],
            |out| !out.trim().is_empty(),
        );
        for arg in ["1", "0"] {
            me.command("pactl")
                .args(["suspend-sink", "v", arg])
                .status()
                .unwrap();
        }
        // The recording process must talk to this server (ALSA's pulse
        // plugin reads these at open).
        std::env::set_var("HOME", me.dir.path());
        std::env::set_var("XDG_RUNTIME_DIR", me.runtime());
        Some(me)
    }

    pub fn runtime(&self) -> PathBuf {
        self.dir.path().join("run")
    }

    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env("HOME", self.dir.path())
            .env("XDG_RUNTIME_DIR", self.runtime());
        c
    }

    /// Runs `pactl args` until it succeeds and `ok` accepts its output.
    fn wait_until(&self, what: &str, args: &[&str], ok: impl Fn(&str) -> bool) {
        let t0 = Instant::now();
        loop {
            let out = self
                .command("pactl")
                .args(args)
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .output();
            if let Ok(out) = out {
                if out.status.success() && ok(&String::from_utf8_lossy(&out.stdout)) {
                    return;
                }
            }
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "PulseAudio: {what} not ready after 10 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Plays a WAV file into the null sink and waits until it has played.
    pub fn play(&self, wav: &Path) {
        let status = self
            .command("paplay")
            .arg("--device=v")
            .arg(wav)
            .status()
            .unwrap();
        assert!(status.success(), "paplay failed");
    }

    /// Kills the server (to make the device disappear).
    pub fn kill_server(&mut self) {
        if let Some(mut c) = self.server.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for PulseServer {
    fn drop(&mut self) {
        for child in [self.silence.take(), self.server.take()]
            .into_iter()
            .flatten()
        {
            let mut child = child;
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Makes a spoken test clip with espeak-ng (22.05 kHz mono WAV), or `None`
/// when espeak-ng is not installed.
pub fn espeak_clip(dir: &Path, text: &str) -> Option<PathBuf> {
    if !have("espeak-ng") {
        crate::skip("espeak-ng is not installed");
        return None;
    }
    let path = dir.join("clip.wav");
    let status = Command::new("espeak-ng")
        .args(["-v", "en-us", "-s", "150", "-w"])
        .arg(&path)
        .arg(text)
        .status()
        .ok()?;
    status.success().then_some(path)
}

/// Best alignment of `needle` inside `hay`: (offset in `hay`, normalised
/// correlation at that offset). Coarse search on every 8th sample, then
/// refined around the best lag.
pub fn align(hay: &[f32], needle: &[f32]) -> (usize, f64) {
    assert!(
        hay.len() >= needle.len(),
        "captured audio is shorter than the clip"
    );
    let max_lag = hay.len() - needle.len();
    let dot = |lag: usize, step: usize| -> f64 {
        needle
            .iter()
            .step_by(step)
            .zip(hay[lag..].iter().step_by(step))
            .map(|(a, b)| f64::from(*a) * f64::from(*b))
            .sum()
    };
    let mut best = (0usize, f64::MIN);
    for lag in 0..=max_lag {
        let d = dot(lag, 8);
        if d > best.1 {
            best = (lag, d);
        }
    }
    let lo = best.0.saturating_sub(16);
    let hi = (best.0 + 16).min(max_lag);
    let mut fine = (best.0, f64::MIN);
    for lag in lo..=hi {
        let d = dot(lag, 1);
        if d > fine.1 {
            fine = (lag, d);
        }
    }
    let energy = |s: &[f32]| s.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>();
    let seg = &hay[fine.0..fine.0 + needle.len()];
    let norm = (energy(needle) * energy(seg)).sqrt();
    (fine.0, if norm > 0.0 { fine.1 / norm } else { 0.0 })
}
