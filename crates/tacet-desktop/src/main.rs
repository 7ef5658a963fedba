//! `tacet-desktop`: the desktop app's composition root.
//!
//! It parses a few flags, starts the worker thread that owns the vault and
//! the engines (the library's [`worker`]), and hands the window to `tacet-ui`, which only
//! renders state and sends commands. Like the CLI it is thin: every rule
//! lives in the application layer, every screen in the UI crate, and each
//! error is reported once (here with anyhow, in the window as plain words).

use tacet_desktop::{compose, demo, frames, script, worker};

use anyhow::{anyhow, Context, Result};
use clap::Parser;
use std::path::PathBuf;
use tacet_ui::TacetUi;

#[derive(Parser, Debug)]
#[command(
    name = "tacet-desktop",
    version,
    about = "Tacet, the local AI medical scribe: the desktop app"
)]
struct Args {
    /// The vault folder (default: $TACET_DATA_DIR, else the platform's data folder:
    /// $XDG_DATA_HOME/tacet or ~/.local/share/tacet on Linux).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Create a throwaway vault with demo users (drlee, admin) and the
    /// default models from the local cache, then open it.
    #[arg(long)]
    demo: bool,
    /// Drive the demo through every screen, pausing for screenshots.
    #[arg(long, hide = true, requires = "demo")]
    screenshot_dir: Option<PathBuf>,
    /// Drive the first-run walk on an empty data folder, pausing for
    /// screenshots; the models come from $TACET_SCRIPT_MODELS and the audit
    /// log is anchored in $TACET_SCRIPT_ANCHOR. With $TACET_SCRIPT_RECORDING
    /// and $TACET_SCRIPT_EXPORT, the new clinician then takes that recording
    /// through to a note saved there (scripts/package-check.sh).
    #[arg(long, hide = true, conflicts_with = "demo")]
    first_run_screenshot_dir: Option<PathBuf>,
    /// The folder notes are saved in, the one place besides the data folder
    /// (and a removable disk's or a share's mount for the audit anchor) where
    /// the app may write a file [env: TACET_EXPORT_DIR; default: your
    /// Documents folder].
    #[arg(long, value_name = "FOLDER")]
    export_dir: Option<PathBuf>,
    /// Write the man page into this folder and exit (packaging).
    #[arg(long, hide = true)]
    package_docs: Option<PathBuf>,
}

/// Where notes are saved: `--export-dir`, `$TACET_EXPORT_DIR`, the folder
/// the first-visit script saves into, else the user's Documents folder
/// (made, private, when missing).
fn export_dir(flag: Option<PathBuf>) -> Option<PathBuf> {
    let dir = flag
        .or_else(|| std::env::var_os("TACET_EXPORT_DIR").map(PathBuf::from))
        .or_else(|| {
            std::env::var_os("TACET_SCRIPT_EXPORT")
                .map(PathBuf::from)
                .and_then(|f| f.parent().map(|p| p.to_path_buf()))
        })
        .or_else(|| {
            directories::UserDirs::new().map(|u| {
                u.document_dir()
                    .map(|d| d.to_path_buf())
                    .unwrap_or_else(|| u.home_dir().join("Documents"))
            })
        })?;
    let _ = std::fs::create_dir_all(&dir);
    std::path::absolute(&dir).ok()
}

/// Every folder the app writes into: the data folder, the export folder,
/// the mounts of removable disks and shares (where a practice keeps its
/// audit anchor), and what the screenshot scripts write.
fn write_outputs(args: &Args, export: Option<&PathBuf>) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = export.into_iter().cloned().collect();
    for mount in ["/media", "/mnt", "/run/media"] {
        if std::path::Path::new(mount).is_dir() {
            out.push(PathBuf::from(mount));
        }
    }
    out.extend(args.screenshot_dir.iter().cloned());
    out.extend(args.first_run_screenshot_dir.iter().cloned());
    out.extend(std::env::var_os("TACET_SCRIPT_ANCHOR").map(PathBuf::from));
    out.extend(
        std::env::var_os("TACET_FRAME_STATS")
            .map(PathBuf::from)
            .and_then(|f| f.parent().map(|p| p.to_path_buf())),
    );
    out.retain(|p| !p.as_os_str().is_empty());
    out
}

struct DesktopApp {
    ui: TacetUi,
    script: Option<script::Script>,
    frames: Option<frames::FrameStats>,
}

impl eframe::App for DesktopApp {
    fn ui(&mut self, ui: &mut eframe::egui::Ui, _frame: &mut eframe::Frame) {
        let started = std::time::Instant::now();
        if let Some(s) = &mut self.script {
            s.tick(&mut self.ui, &ui.ctx().clone());
        }
        let phase = match &self.ui.state.busy {
            Some(b) => b.label.clone(),
            None => "idle".to_string(),
        };
        self.ui.ui(ui);
        if let Some(f) = &mut self.frames {
            f.frame(&phase, started, started.elapsed());
            // Measuring: draw continuously, as fast as the window can.
            ui.ctx().request_repaint();
        }
    }
}

fn main() -> Result<()> {
    // First, before any patient data is in memory: no core dumps, no
    // network (see tacet-sandbox).
    for warning in tacet_sandbox::harden_with_display().warnings() {
        eprintln!("warning: {warning}");
    }
    // A panic's message may hold patient text: say where, never what.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("{}", tacet_runtime::panic::report(info));
    }));
    // A CPU below the build's floor would die with an illegal instruction
    // once transcription starts: say so now, before anything is opened.
    tacet_runtime::cpu::check_floor()?;
    // The window needs a core of its own while the engines work: on this
    // project's 2-core machine, drafting with candle on every core held the
    // software-rendered window to 54–58 frames per second and one thread
    // fewer gave 70–82 (docs/BENCHMARKS.md). Set before any thread starts;
    // a user's own TACET_LLM_THREADS wins.
    if std::env::var_os(tacet_runtime::LLM_THREADS_VAR).is_none() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        std::env::set_var(
            tacet_runtime::LLM_THREADS_VAR,
            cores.saturating_sub(1).clamp(1, 4).to_string(),
        );
    }
    let args = Args::parse();
    if let Some(out) = &args.package_docs {
        use clap::CommandFactory;
        std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
        let path = out.join("tacet-desktop.1");
        let mut page = Vec::new();
        clap_mangen::Man::new(Args::command()).render(&mut page)?;
        std::fs::write(&path, page).with_context(|| format!("cannot write {}", path.display()))?;
        return Ok(());
    }
    let mut made_temp = None;
    let data_dir = if args.demo {
        let dir = match args.data_dir.clone() {
            Some(d) => d,
            None => {
                let d = demo::temp_dir();
                made_temp = Some(d.clone());
                d
            }
        };
        eprintln!("Creating a demo vault in {} …", dir.display());
        demo::create(&dir).context("creating the demo vault")?;
        eprintln!(
            "Demo users: {} / {} (clinician), {} / {} (admin).",
            demo::CLINICIAN.0,
            demo::CLINICIAN.1,
            demo::ADMIN.0,
            demo::ADMIN.1
        );
        dir
    } else {
        compose::data_dir(args.data_dir.clone())?
    };
    let options = eframe::NativeOptions {
        viewport: eframe::egui::ViewportBuilder::default()
            .with_title("Tacet")
            .with_inner_size([1280.0, 800.0])
            .with_min_inner_size([900.0, 600.0]),
        ..Default::default()
    };
    // From here on the app writes only into the data folder, the export
    // folder, the audit anchor folder and removable disks (see
    // tacet-sandbox); before the window or the worker starts a thread.
    let export = export_dir(args.export_dir.clone());
    let fence = tacet_runtime::fence_writes(&data_dir, &write_outputs(&args, export.as_ref()));
    if let tacet_sandbox::LayerStatus::Failed(e) = &fence.status {
        eprintln!("warning: Landlock file rules not in force: {e}");
    }
    let fenced_export = if fence.status.is_active() {
        export.map(|d| d.display().to_string()).unwrap_or_default()
    } else {
        String::new()
    };
    let demo_mode = args.demo;
    let shots = args.screenshot_dir.clone();
    let first_run_shots = args.first_run_screenshot_dir.clone();
    // The support log: this start's facts and the installed models (ids
    // and hashes); the worker logs each step. Ids and codes only.
    let _log = tacet_runtime::support_log::open(&data_dir).ok();
    tacet_runtime::support_log::log(&tacet_runtime::support_log::started(
        "tacet-desktop",
        env!("CARGO_PKG_VERSION"),
    ));
    tacet_runtime::support_log::log_models(&data_dir);
    let worker_dir = data_dir.clone();
    let log_dir = tacet_runtime::support_log::dir(&data_dir);
    let result = eframe::run_native(
        "Tacet",
        options,
        Box::new(move |cc| {
            let ctx = cc.egui_ctx.clone();
            let backend = worker::spawn(worker_dir, move || ctx.request_repaint())?;
            let mut ui = TacetUi::new(Box::new(backend));
            ui.state.settings.support_log_dir = log_dir.display().to_string();
            ui.state.settings.export_dir = fenced_export;
            if demo_mode {
                ui.state.unlock.user = demo::CLINICIAN.0.into();
                ui.state.settings.default_wav_path = demo::demo_wav().unwrap_or_default();
                ui.state.notice = Some(format!(
                    "Demo vault: sign in as {} (passphrase {}) or {} (passphrase {}).",
                    demo::CLINICIAN.0,
                    demo::CLINICIAN.1,
                    demo::ADMIN.0,
                    demo::ADMIN.1
                ));
            }
            let script = match (shots, first_run_shots) {
                (Some(dir), _) => Some(script::Script::new(dir, demo::CLINICIAN, demo::ADMIN)),
                (None, Some(dir)) => Some(script::Script::first_run(
                    dir,
                    std::env::var("TACET_SCRIPT_MODELS").unwrap_or_default(),
                    std::env::var("TACET_SCRIPT_ANCHOR").unwrap_or_default(),
                    match (
                        std::env::var("TACET_SCRIPT_RECORDING"),
                        std::env::var("TACET_SCRIPT_EXPORT"),
                    ) {
                        (Ok(recording), Ok(export)) => {
                            Some(script::FirstVisit { recording, export })
                        }
                        _ => None,
                    },
                )),
                (None, None) => None,
            };
            Ok(Box::new(DesktopApp {
                ui,
                script,
                frames: frames::FrameStats::from_env(),
            }))
        }),
    )
    .map_err(|e| anyhow!("the window could not be opened: {e}"));
    if let Some(dir) = made_temp {
        // The demo vault is throwaway: its files go; the empty folder
        // stays where the write fence keeps the app out of the temporary
        // folder itself.
        let _ = std::fs::remove_dir_all(&dir);
    }
    result
}
