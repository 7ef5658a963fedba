//! Process hardening at start, before any patient data is in memory.
//!
//! Tacet promises that patient data never leaves the machine and never
//! lands on disk in clear. Both binaries (`tacet`, `tacet-desktop`) call
//! [`harden`] as the first thing in `main`, so the promises hold for the
//! process itself, not only for the code we wrote: a dependency that tried
//! to phone home, or a crash that tried to dump memory, is stopped by the
//! kernel.
//!
//! The layers, each independent, each reported in [`HardeningReport`]:
//!
//! - **No core dumps**: `RLIMIT_CORE` = 0 (soft and hard) and
//!   `PR_SET_DUMPABLE` = 0. The second also covers a core pattern that pipes
//!   to a handler (which ignores the rlimit) and refuses `ptrace` attach
//!   from other processes of the same user. A dump would hold decrypted
//!   audio, transcripts and keys.
//! - **Landlock network rules** (Linux 6.7+, Landlock ABI 4): a ruleset that
//!   handles `BindTcp | ConnectTcp` and allows no port, so every TCP bind
//!   and connect is denied, even on a socket that existed before. Applied
//!   best-effort: an older kernel (or one with Landlock off) is reported as
//!   "not supported", never an error, and the next layer still holds.
//!   Landlock alone is not enough: it does not cover UDP or the creation
//!   of sockets.
//! - **Landlock file rules**, a separate step ([`fence_writes`]), because
//!   the folders are known only once the command line is read: writes
//!   (create, change, truncate, rename, remove) only beneath the data
//!   folder, the export and anchor folders and `/dev`. Reading is not
//!   fenced, so models and recordings are read from anywhere.
//! - **Landlock scopes** (ABI 6): no connection to an abstract UNIX socket
//!   made outside the process (a name in a kernel table that the
//!   filesystem cannot fence: an X server's, an older session bus's, a
//!   local service's) and no signal to another process. A program with a
//!   window ([`harden_with_display`]) scopes signals only: libxcb reaches
//!   the X server through its abstract socket and does not fall back to
//!   the path socket when that is refused. Best-effort, like the network
//!   rules.
//! - **A seccomp filter, always**: `socket()` of any address family other
//!   than `AF_UNIX` and `AF_NETLINK` fails with `EACCES` (so `AF_INET`,
//!   `AF_INET6`, `AF_PACKET`, `AF_VSOCK`, … are refused; PulseAudio, D-Bus,
//!   X11 and Wayland all use `AF_UNIX`, netlink only talks to the local
//!   kernel). An allow-list, because a deny-list of two families would let a
//!   raw `AF_PACKET` socket through when run as root. The filter also
//!   closes the ways around a `socket()` check: syscalls of another ABI
//!   (i386 `int 0x80`, x32) are refused, and `io_uring_setup` fails with
//!   `ENOSYS` (io_uring can create and connect sockets without the
//!   `socket` syscall; libraries treat `ENOSYS` as "use the ordinary path").
//!   It is installed with `SECCOMP_FILTER_FLAG_TSYNC`, so threads that
//!   already exist are covered too.
//! - **The same filter keeps the process to itself**: `ptrace`,
//!   `process_vm_readv`/`process_vm_writev` and `pidfd_getfd` fail with
//!   `EPERM` (no reading another process's memory, no taking its connected
//!   socket or open file), and so do `execve`/`execveat`: after start no
//!   new program runs in the process or any child it forks (a library that
//!   shells out, ggml's debugger-on-crash, a helper reached through a
//!   compromised dependency). Neither program needs to start one.
//!   [`danger_harden_allowing_exec`] keeps `execve` for test processes that
//!   start helpers after hardening; nothing shipped calls it.
//!
//! Each layer is attempted and reported, never an error here: refusing to
//! start would help no one (`tacet --version` needs no sandbox). What a
//! missing layer means is decided where patient data is opened:
//! `tacet_runtime::posture` unlocks no vault unless the seccomp filter is
//! in force (or an audited override says so). The binaries print
//! [`HardeningReport::warnings`] to stderr and the compliance report can
//! show [`HardeningReport::lines`]. No layer can be undone by the process
//! later, and all of them are inherited by child processes.

use std::fmt;

/// Why one hardening step failed. Each variant names the step; the numbers
/// are the kernel's error codes, shown as text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HardenError {
    #[error("could not set the core-file size limit to 0: {}", os_error(*errno))]
    CoreLimit { errno: i32 },
    #[error("could not mark the process non-dumpable (PR_SET_DUMPABLE): {}", os_error(*errno))]
    NotDumpable { errno: i32 },
    #[error(
        "could not set no_new_privs, which the seccomp filter needs: {}",
        os_error(*errno)
    )]
    NoNewPrivs { errno: i32 },
    #[error("the kernel refused the Landlock network ruleset: {detail}")]
    Landlock { detail: String },
    #[error("the kernel refused the seccomp network filter: {}", os_error(*errno))]
    Seccomp { errno: i32 },
    #[error("the seccomp network filter could not be applied to thread {thread_id} (it already has a different filter)")]
    SeccompThreadSync { thread_id: i64 },
}

fn os_error(errno: i32) -> String {
    std::io::Error::from_raw_os_error(errno).to_string()
}

/// The state of one hardening layer after [`harden`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayerStatus {
    /// In force for the rest of the process's life.
    Active,
    /// This system cannot provide the layer (an older kernel, another OS or
    /// processor); the reason says which.
    NotSupported { reason: String },
    /// The system has the layer but refused it.
    Failed(HardenError),
}

impl LayerStatus {
    pub fn is_active(&self) -> bool {
        matches!(self, LayerStatus::Active)
    }
}

impl fmt::Display for LayerStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LayerStatus::Active => write!(f, "active"),
            LayerStatus::NotSupported { reason } => write!(f, "not supported: {reason}"),
            LayerStatus::Failed(e) => write!(f, "FAILED: {e}"),
        }
    }
}

/// What [`harden`] put in place, layer by layer, in words a person (or a
/// compliance report) can read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HardeningReport {
    /// `RLIMIT_CORE` set to 0, soft and hard.
    pub core_limit_zero: LayerStatus,
    /// `PR_SET_DUMPABLE` = 0: no core dump by any handler, no ptrace attach.
    pub not_dumpable: LayerStatus,
    /// The running kernel's Landlock ABI version; `None` when Landlock is
    /// not built in or not enabled at boot.
    pub landlock_abi: Option<u32>,
    /// Landlock rules denying every TCP bind and connect (needs ABI 4).
    pub landlock_network: LayerStatus,
    /// Landlock scopes (needs ABI 6): no connection to an abstract UNIX
    /// socket made outside the process (an X server's, an older session
    /// bus's, a local service's), no signal to another process.
    pub landlock_scopes: LayerStatus,
    /// Abstract UNIX sockets were left reachable for the X server
    /// ([`harden_with_display`]); only signals are scoped.
    pub abstract_sockets_open_for_display: bool,
    /// The seccomp filter refusing every socket but `AF_UNIX`/`AF_NETLINK`.
    pub seccomp_network: LayerStatus,
    /// The same filter's process rules: no `ptrace`, `process_vm_*`,
    /// `pidfd_getfd`, `execve` or `execveat`.
    pub seccomp_process: LayerStatus,
    /// Threads the process had when [`harden`] ran. More than one means
    /// some thread started before hardening (the seccomp filter covers it
    /// all the same; Landlock covers it only on kernels with ABI 8).
    pub threads_at_start: usize,
}

impl HardeningReport {
    /// Whether every layer is in force.
    pub fn fully_hardened(&self) -> bool {
        self.core_dumps_off()
            && self.network_denied()
            && self.seccomp_process.is_active()
            && self.landlock_network.is_active()
    }

    /// Whether no core dump can be written (both core layers active).
    pub fn core_dumps_off(&self) -> bool {
        self.core_limit_zero.is_active() && self.not_dumpable.is_active()
    }

    /// Whether the process can no longer create an IP socket: the seccomp
    /// filter is the layer that covers all of TCP, UDP and raw sockets.
    pub fn network_denied(&self) -> bool {
        self.seccomp_network.is_active()
    }

    /// One line per layer, for a person or the compliance report.
    pub fn lines(&self) -> Vec<String> {
        let abi = match self.landlock_abi {
            Some(v) => format!("Landlock ABI {v}"),
            None => "Landlock not available in this kernel".to_string(),
        };
        vec![
            format!("core file size limit 0: {}", self.core_limit_zero),
            format!(
                "process not dumpable (no core dump, no ptrace attach): {}",
                self.not_dumpable
            ),
            format!(
                "Landlock network rules (every TCP bind/connect denied; {abi}): {}",
                self.landlock_network
            ),
            if self.abstract_sockets_open_for_display {
                format!(
                    "Landlock scopes (no signal to another process; abstract UNIX sockets left reachable for the X server): {}",
                    self.landlock_scopes
                )
            } else {
                format!(
                    "Landlock scopes (no abstract UNIX socket made outside the process, no signal to another process): {}",
                    self.landlock_scopes
                )
            },
            format!(
                "seccomp filter (sockets other than AF_UNIX/AF_NETLINK refused): {}",
                self.seccomp_network
            ),
            format!(
                "seccomp filter (no ptrace, no other process's memory or descriptors, no new program): {}",
                self.seccomp_process
            ),
        ]
    }

    /// What a person should be told at start: one line for each layer not
    /// in force, and for threads that started before hardening. Empty when
    /// the process is fully hardened.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        let layers = [
            ("core file size limit", &self.core_limit_zero),
            ("non-dumpable process", &self.not_dumpable),
            ("Landlock network rules", &self.landlock_network),
            ("seccomp network filter", &self.seccomp_network),
            ("seccomp process rules", &self.seccomp_process),
        ];
        for (name, status) in layers {
            match status {
                LayerStatus::Active => {}
                LayerStatus::NotSupported { reason } => {
                    out.push(format!("{name} not in force: {reason}"));
                }
                LayerStatus::Failed(e) => out.push(format!("{name} not in force: {e}")),
            }
        }
        // Scopes arrived with Landlock ABI 6; an older kernel is said in the
        // report's lines, not at every start. A kernel that has them and
        // refused them is said.
        if let LayerStatus::Failed(e) = &self.landlock_scopes {
            out.push(format!("Landlock scopes not in force: {e}"));
        }
        if self.threads_at_start > 1 {
            out.push(format!(
                "{} threads were running before hardening; call it first in main",
                self.threads_at_start
            ));
        }
        out
    }
}

impl fmt::Display for HardeningReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for line in self.lines() {
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}

/// Hardens the calling process for the rest of its life (see the module
/// docs). Call it first in `main`, before any thread starts. Never fails:
/// each layer's outcome is in the report.
pub fn harden() -> HardeningReport {
    harden_as(Exec::Deny, Display::None)
}

/// [`harden`] for a program with a window: every layer the same, except
/// that abstract UNIX sockets made outside the process stay reachable. An
/// X11 client connects to the X server's abstract socket first, and
/// libxcb gives up, without trying the server's path socket, when that
/// connect is refused; the X server is the one such socket a window needs.
pub fn harden_with_display() -> HardeningReport {
    harden_as(Exec::Deny, Display::X11)
}

/// [`harden`], except that `execve`/`execveat` stay allowed and the
/// Landlock scopes are left off: for a test process that must start helpers
/// (an audio server, a player) after it hardened itself, and stop or signal
/// the ones it started before. Every other layer is the same; the report
/// says which are not in force. Nothing shipped calls it.
pub fn danger_harden_allowing_exec() -> HardeningReport {
    harden_as(Exec::Allow, Display::None)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Exec {
    Deny,
    Allow,
}

/// Whether the process draws a window (and so must reach the X server).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Display {
    None,
    X11,
}

fn harden_as(exec: Exec, display: Display) -> HardeningReport {
    let report = imp::harden(exec, display);
    // The first result is kept for [`current`]; a second call changes nothing there.
    let _ = APPLIED.set(report.clone());
    report
}

static APPLIED: std::sync::OnceLock<HardeningReport> = std::sync::OnceLock::new();

/// What [`harden`] put in place in this process, or `None` when it was never
/// called (a library used outside `tacet`/`tacet-desktop`, a test). The
/// compliance report reads the running process's posture from here instead
/// of stating it from memory.
pub fn current() -> Option<&'static HardeningReport> {
    APPLIED.get()
}

/// The running kernel's Landlock ABI version, or `None` when Landlock is
/// not built in or not enabled. Changes nothing.
pub fn landlock_abi() -> Option<u32> {
    imp::landlock_abi()
}

/// Where the process may still write after [`fence_writes`], and whether
/// the fence is in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteFence {
    pub status: LayerStatus,
    /// The folders writes stay allowed beneath (besides `/dev`), as given.
    pub roots: Vec<std::path::PathBuf>,
    /// Roots that were not there when the fence went up, so no write
    /// beneath them is allowed.
    pub missing: Vec<std::path::PathBuf>,
}

impl WriteFence {
    /// Whether the process may still write at `path` (always, when the
    /// fence is not in force). Compares the paths as written, made
    /// absolute; the kernel's answer is the one that counts.
    pub fn allows(&self, path: &std::path::Path) -> bool {
        if !self.status.is_active() {
            return true;
        }
        let Ok(path) = std::path::absolute(path) else {
            return false;
        };
        self.roots
            .iter()
            .filter(|r| !self.missing.contains(r))
            .filter_map(|r| std::path::absolute(r).ok())
            .chain([std::path::PathBuf::from("/dev")])
            .any(|r| path.starts_with(r))
    }

    /// One line for a person or the compliance report.
    pub fn line(&self) -> String {
        let roots: Vec<String> = self.roots.iter().map(|r| r.display().to_string()).collect();
        format!(
            "Landlock file rules (files are created, changed, renamed or removed only in {} and /dev): {}",
            if roots.is_empty() {
                "no folder".to_string()
            } else {
                roots.join(", ")
            },
            self.status
        )
    }
}

/// Fences the process's writes for the rest of its life: creating,
/// writing, truncating, renaming and removing files and folders succeed
/// only beneath `roots` (the data folder, the folder an export goes to,
/// the audit anchor folder) and `/dev` (the terminal, `/dev/null`, audio
/// and graphics devices); everywhere else the kernel answers `EACCES`.
/// Reading is not fenced. So nothing the process runs — a dependency, a
/// library's cache, a compromised plugin — can drop a file into a shell's
/// start-up files, an autostart folder or a shared temporary folder, where
/// it would outlive the sandbox or leave patient data in clear. Each root
/// must exist; one that does not is reported in [`WriteFence::missing`]
/// and allows nothing. Connecting to a path socket (PulseAudio, the
/// display) is not a write and stays allowed.
///
/// Call it once the roots are known and before any thread starts: on a
/// kernel without Landlock's all-threads flag (ABI 8) it binds the calling
/// thread and the threads it starts later. Best effort like the other
/// Landlock layers: where the kernel has no Landlock the status says so.
pub fn fence_writes(roots: &[std::path::PathBuf]) -> WriteFence {
    let fence = imp::fence_writes(roots);
    let _ = FENCE.set(fence.clone());
    fence
}

static FENCE: std::sync::OnceLock<WriteFence> = std::sync::OnceLock::new();

/// The fence [`fence_writes`] put up in this process, if it was called.
pub fn write_fence() -> Option<&'static WriteFence> {
    FENCE.get()
}

#[cfg(target_os = "linux")]
mod imp {
    use super::{Display, Exec, HardenError, HardeningReport, LayerStatus};

    fn errno() -> i32 {
        std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
    }

    pub fn harden(exec: Exec, display: Display) -> HardeningReport {
        let threads_at_start = thread_count();
        // Every file and folder the program creates from here on is its
        // user's alone (0600/0700): the vault, exports, the support log,
        // anything a library writes. umask cannot fail.
        // SAFETY: umask takes and returns a plain integer.
        unsafe { libc::umask(0o077) };
        let (core_limit_zero, not_dumpable) = no_core_dumps();
        let landlock_abi = landlock_abi();
        let landlock_network = landlock_network(landlock_abi);
        let landlock_scopes = match exec {
            Exec::Deny => landlock_scopes(landlock_abi, display),
            // A test process signals helpers it started before hardening.
            Exec::Allow => LayerStatus::NotSupported {
                reason: "left off by danger_harden_allowing_exec".into(),
            },
        };
        let process = match exec {
            Exec::Deny => crate::seccomp::Process::Deny,
            Exec::Allow => crate::seccomp::Process::AllowExec,
        };
        // One filter holds both rule sets: they are in force together or
        // not at all, except that the test variant leaves exec allowed.
        let seccomp_network = crate::seccomp::install(process);
        let seccomp_process = match (&seccomp_network, exec) {
            (LayerStatus::Active, Exec::Allow) => LayerStatus::NotSupported {
                reason: "execve left allowed by danger_harden_allowing_exec (ptrace, process_vm_* and pidfd_getfd are refused)".into(),
            },
            (status, _) => status.clone(),
        };
        HardeningReport {
            core_limit_zero,
            not_dumpable,
            landlock_abi,
            landlock_network,
            landlock_scopes,
            abstract_sockets_open_for_display: display == Display::X11,
            seccomp_network,
            seccomp_process,
            threads_at_start,
        }
    }

    /// Abstract UNIX sockets are names in a kernel table, not files: the
    /// filesystem cannot fence them, and an X server, an older D-Bus
    /// session bus or a local service may listen on one. Scoped, the
    /// process reaches only those it made itself (X11 clients fall back to
    /// the server's path socket; PulseAudio, Wayland and today's session bus
    /// use paths). Signals likewise stay inside the process.
    fn landlock_scopes(abi: Option<u32>, display: Display) -> LayerStatus {
        use landlock::{
            CompatLevel, Compatible, RestrictSelfAttr, Ruleset, RulesetAttr, RulesetCreatedAttr,
            Scope,
        };
        match abi {
            Some(v) if v >= 6 => {}
            Some(v) => {
                return LayerStatus::NotSupported {
                    reason: format!(
                        "this kernel's Landlock ABI {v} has no scopes (ABI 6, Linux 6.12, needed)"
                    ),
                }
            }
            None => {
                return LayerStatus::NotSupported {
                    reason: "Landlock is not built into or not enabled in this kernel".into(),
                }
            }
        }
        let result = Ruleset::default()
            .set_compatibility(CompatLevel::BestEffort)
            .scope(match display {
                Display::None => Scope::AbstractUnixSocket | Scope::Signal,
                Display::X11 => Scope::Signal.into(),
            })
            .and_then(|r| r.create())
            .and_then(|r| r.all_threads(true))
            .map(|r| r.no_new_privs(true))
            .and_then(|r| r.restrict_self());
        enforced(result, "scope")
    }

    /// What restricting the process with one Landlock ruleset gave.
    fn enforced(
        result: Result<landlock::RestrictionStatus, landlock::RulesetError>,
        what: &str,
    ) -> LayerStatus {
        use landlock::RulesetStatus;
        match result {
            // Partial can only mean the all-threads flag was dropped: each
            // ruleset's rights arrived together in one ABI.
            Ok(status) => match status.ruleset {
                RulesetStatus::FullyEnforced | RulesetStatus::PartiallyEnforced => {
                    LayerStatus::Active
                }
                RulesetStatus::NotEnforced => LayerStatus::NotSupported {
                    reason: format!("the kernel accepted no Landlock {what}"),
                },
            },
            Err(e) => LayerStatus::Failed(HardenError::Landlock {
                detail: e.to_string(),
            }),
        }
    }

    fn thread_count() -> usize {
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("Threads:"))
                    .and_then(|n| n.trim().parse().ok())
            })
            .unwrap_or(1)
    }

    fn no_core_dumps() -> (LayerStatus, LayerStatus) {
        let zero = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: setrlimit reads the struct we pass and keeps no pointer.
        let limit = if unsafe { libc::setrlimit(libc::RLIMIT_CORE, &zero) } == 0 {
            LayerStatus::Active
        } else {
            LayerStatus::Failed(HardenError::CoreLimit { errno: errno() })
        };
        // SAFETY: prctl(PR_SET_DUMPABLE) takes plain integers.
        let dumpable = if unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) } == 0 {
            LayerStatus::Active
        } else {
            LayerStatus::Failed(HardenError::NotDumpable { errno: errno() })
        };
        (limit, dumpable)
    }

    pub fn fence_writes(roots: &[std::path::PathBuf]) -> crate::WriteFence {
        use landlock::{
            AccessFs, CompatLevel, Compatible, PathBeneath, PathFd, RestrictSelfAttr, Ruleset,
            RulesetAttr, RulesetCreatedAttr, ABI,
        };
        let mut missing = Vec::new();
        let status = match landlock_abi() {
            None => LayerStatus::NotSupported {
                reason: "Landlock is not built into or not enabled in this kernel".into(),
            },
            Some(_) => {
                // Every write right up to ABI 8; not ABI 9's connecting to a
                // path socket, which PulseAudio and the display need.
                let access = AccessFs::from_write(ABI::V8);
                let mut fds = Vec::new();
                for root in roots
                    .iter()
                    .map(|r| r.as_path())
                    .chain([std::path::Path::new("/dev")])
                {
                    match PathFd::new(root) {
                        Ok(fd) => fds.push((fd, root.is_dir())),
                        Err(_) => missing.push(root.to_path_buf()),
                    }
                }
                let result = Ruleset::default()
                    .set_compatibility(CompatLevel::BestEffort)
                    .handle_access(access)
                    .and_then(|r| r.create())
                    .and_then(|r| {
                        r.add_rules(fds.into_iter().map(|(fd, is_dir)| {
                            // A file root takes only the rights a file has.
                            let rights = if is_dir {
                                access
                            } else {
                                access & AccessFs::from_file(ABI::V8)
                            };
                            Ok::<_, landlock::RulesetError>(PathBeneath::new(fd, rights))
                        }))
                    })
                    .and_then(|r| r.all_threads(true))
                    .map(|r| r.no_new_privs(true))
                    .and_then(|r| r.restrict_self());
                enforced(result, "file rule")
            }
        };
        crate::WriteFence {
            status,
            roots: roots.to_vec(),
            missing,
        }
    }

    pub fn landlock_abi() -> Option<u32> {
        const LANDLOCK_CREATE_RULESET_VERSION: libc::c_uint = 1;
        // SAFETY: with a null attribute pointer, size 0 and the VERSION flag
        // the kernel only returns its ABI number (or -1); nothing is read.
        let v = unsafe {
            libc::syscall(
                libc::SYS_landlock_create_ruleset,
                std::ptr::null::<libc::c_void>(),
                0usize,
                LANDLOCK_CREATE_RULESET_VERSION,
            )
        };
        u32::try_from(v).ok().filter(|v| *v > 0)
    }

    fn landlock_network(abi: Option<u32>) -> LayerStatus {
        use landlock::{
            AccessNet, CompatLevel, Compatible, RestrictSelfAttr, Ruleset, RulesetAttr,
            RulesetCreatedAttr,
        };
        match abi {
            None => {
                return LayerStatus::NotSupported {
                    reason: "Landlock is not built into or not enabled in this kernel".into(),
                }
            }
            Some(v) if v < 4 => {
                return LayerStatus::NotSupported {
                    reason: format!(
                        "this kernel's Landlock ABI {v} has no network rules (ABI 4, Linux 6.7, needed)"
                    ),
                }
            }
            Some(_) => {}
        }
        let result = Ruleset::default()
            .set_compatibility(CompatLevel::BestEffort)
            .handle_access(AccessNet::BindTcp | AccessNet::ConnectTcp)
            .and_then(|r| r.create())
            // Every thread where the kernel can (ABI 8); the calling thread
            // and its future threads otherwise.
            .and_then(|r| r.all_threads(true))
            .map(|r| r.no_new_privs(true))
            .and_then(|r| r.restrict_self());
        enforced(result, "network rule")
    }
}

#[cfg(target_os = "linux")]
mod seccomp;

#[cfg(not(target_os = "linux"))]
mod imp {
    use super::{Display, Exec, HardeningReport, LayerStatus};

    pub fn harden(_: Exec, _: Display) -> HardeningReport {
        let no = || LayerStatus::NotSupported {
            reason: "process hardening is implemented for Linux only".into(),
        };
        HardeningReport {
            core_limit_zero: no(),
            not_dumpable: no(),
            landlock_abi: None,
            landlock_network: no(),
            landlock_scopes: no(),
            abstract_sockets_open_for_display: false,
            seccomp_network: no(),
            seccomp_process: no(),
            threads_at_start: 1,
        }
    }

    pub fn landlock_abi() -> Option<u32> {
        None
    }

    pub fn fence_writes(roots: &[std::path::PathBuf]) -> crate::WriteFence {
        crate::WriteFence {
            status: LayerStatus::NotSupported {
                reason: "process hardening is implemented for Linux only".into(),
            },
            roots: roots.to_vec(),
            missing: Vec::new(),
        }
    }
}
