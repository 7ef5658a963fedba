//! The hardening, observed from inside a hardened process.
//!
//! Hardening cannot be undone, so each test re-runs this test binary as a
//! child process with only itself selected and `TACET_SANDBOX_CHILD` set to
//! its name; the child hardens itself and checks what it can and cannot do,
//! and the parent (the ordinary test harness, never hardened) checks the
//! child's exit. Linux only, like the hardening.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Output};

const CHILD: &str = "TACET_SANDBOX_CHILD";

fn is_child(test: &str) -> bool {
    std::env::var(CHILD).as_deref() == Ok(test)
}

/// Runs `test` alone in a fresh process of this binary, in `cwd`.
fn run_child(test: &str, cwd: &Path) -> Output {
    run_child_with(test, cwd, &[])
}

/// [`run_child`] with more environment variables for the child.
fn run_child_with(test: &str, cwd: &Path, env: &[(&str, &str)]) -> Output {
    Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, test)
        .envs(env.iter().copied())
        .current_dir(cwd)
        .output()
        .unwrap()
}

fn assert_child_passed(test: &str) -> String {
    assert_child_passed_with(test, &[])
}

fn assert_child_passed_with(test: &str, env: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = run_child_with(test, dir.path(), env);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "the hardened child failed ({:?}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    // Print the child's figures (report, ABI) for the person running tests.
    eprintln!("{stdout}");
    stdout
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap()
}

/// `socket(domain, kind, 0)`: Ok(fd) or Err(errno).
fn socket(domain: i32, kind: i32) -> Result<i32, i32> {
    // SAFETY: socket() takes plain integers.
    let fd = unsafe { libc::socket(domain, kind, 0) };
    if fd >= 0 {
        Ok(fd)
    } else {
        Err(errno())
    }
}

fn close(fd: i32) {
    // SAFETY: fd was returned by socket() and is closed once.
    unsafe { libc::close(fd) };
}

/// `connect(fd, 127.0.0.1:port)`: Ok or Err(errno).
fn connect_v4(fd: i32, port: u16) -> Result<(), i32> {
    let addr = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(std::net::Ipv4Addr::LOCALHOST).to_be(),
        },
        sin_zero: [0; 8],
    };
    // SAFETY: addr is a valid sockaddr_in and its size is passed with it.
    let r = unsafe {
        libc::connect(
            fd,
            (&addr as *const libc::sockaddr_in).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(errno())
    }
}

/// `bind(fd, 127.0.0.1:0)`: Ok or Err(errno).
fn bind_v4_any_port(fd: i32) -> Result<(), i32> {
    let addr = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: 0,
        sin_addr: libc::in_addr {
            s_addr: u32::from(std::net::Ipv4Addr::LOCALHOST).to_be(),
        },
        sin_zero: [0; 8],
    };
    // SAFETY: as in connect_v4.
    let r = unsafe {
        libc::bind(
            fd,
            (&addr as *const libc::sockaddr_in).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(errno())
    }
}

#[test]
fn ip_sockets_are_refused_after_hardening() {
    const ME: &str = "ip_sockets_are_refused_after_hardening";
    if !is_child(ME) {
        let out = assert_child_passed(ME);
        assert!(out.contains("seccomp filter"), "{out}");
        return;
    }
    let report = tacet_sandbox::harden();
    println!("hardening report:\n{report}");
    println!("Landlock ABI seen: {:?}", report.landlock_abi);
    assert!(report.core_dumps_off(), "{report}");
    assert!(report.network_denied(), "{report}");
    if report.landlock_abi.is_some_and(|v| v >= 4) {
        assert!(report.fully_hardened(), "{report}");
        // The test harness runs this test on a thread of its own, so the
        // only warning is that one thread ran before hardening.
        let warnings = report.warnings();
        assert!(
            warnings.iter().all(|w| w.contains("threads were running")),
            "{warnings:?}"
        );
    }
    let mut attempted = 0;
    for (domain, name) in [
        (libc::AF_INET, "AF_INET"),
        (libc::AF_INET6, "AF_INET6"),
        (libc::AF_PACKET, "AF_PACKET"),
        (libc::AF_VSOCK, "AF_VSOCK"),
    ] {
        for kind in [libc::SOCK_STREAM, libc::SOCK_DGRAM, libc::SOCK_RAW] {
            attempted += 1;
            assert_eq!(
                socket(domain, kind | libc::SOCK_CLOEXEC),
                Err(libc::EACCES),
                "{name} type {kind}"
            );
        }
    }
    println!("{attempted} non-local socket() calls, all refused with EACCES");
    // Through the standard library too.
    let err = std::net::TcpStream::connect("127.0.0.1:9").unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EACCES), "{err}");
    let err = std::net::UdpSocket::bind("[::1]:0").unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EACCES), "{err}");
    let err = std::net::TcpListener::bind("0.0.0.0:0").unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EACCES), "{err}");
    // io_uring, which can open sockets without socket(), is not there.
    // SAFETY: a null params pointer is refused before it is read.
    let r = unsafe { libc::syscall(libc::SYS_io_uring_setup, 1, std::ptr::null::<u8>()) };
    assert_eq!((r, errno()), (-1, libc::ENOSYS));
    // Another syscall ABI (x32 getpid) is refused, not served.
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: getpid has no arguments and no effect.
        let r = unsafe { libc::syscall(0x4000_0000 | libc::SYS_getpid) };
        assert_eq!((r, errno()), (-1, libc::EACCES));
    }
}

#[test]
fn local_sockets_and_files_still_work_after_hardening() {
    const ME: &str = "local_sockets_and_files_still_work_after_hardening";
    if !is_child(ME) {
        assert_child_passed(ME);
        return;
    }
    let report = tacet_sandbox::harden();
    assert!(report.network_denied(), "{report}");
    // A path socket (PulseAudio's kind), end to end.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let mut client = std::os::unix::net::UnixStream::connect(&path).unwrap();
    let (mut server, _) = listener.accept().unwrap();
    client.write_all(b"ping").unwrap();
    let mut got = [0u8; 4];
    server.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"ping");
    // An abstract socket (X11's and D-Bus's kind) and a datagram pair.
    let (a, b) = std::os::unix::net::UnixDatagram::pair().unwrap();
    a.send(b"x").unwrap();
    assert_eq!(b.recv(&mut got).unwrap(), 1);
    // Netlink talks only to the local kernel and stays allowed.
    let fd = socket(libc::AF_NETLINK, libc::SOCK_RAW | libc::SOCK_CLOEXEC).unwrap();
    close(fd);
    // Landlock restricts no file access: the vault and models are anywhere.
    let file = dir.path().join("f");
    std::fs::write(&file, b"data").unwrap();
    assert_eq!(std::fs::read(&file).unwrap(), b"data");
    assert!(std::fs::read_dir("/").unwrap().count() > 0);
}

/// The write fence: beneath its roots and /dev everything works; anywhere
/// else (a home folder's start-up file, a shared temporary folder) no file
/// is created, changed, renamed or removed; reading is untouched.
#[test]
fn writes_outside_the_fenced_folders_are_refused() {
    const ME: &str = "writes_outside_the_fenced_folders_are_refused";
    if !is_child(ME) {
        assert_child_passed(ME);
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let profile = home.path().join(".bashrc");
    std::fs::write(&profile, b"# the user's own\n").unwrap();
    let gone = home.path().join("not-there");
    let _ = tacet_sandbox::harden();
    let fence = tacet_sandbox::fence_writes(&[data.path().to_path_buf(), gone.clone()]);
    println!("{}", fence.line());
    if tacet_sandbox::landlock_abi().is_none() {
        assert!(!fence.status.is_active());
        println!("no Landlock in this kernel: nothing more to check");
        return;
    }
    assert!(fence.status.is_active(), "{fence:?}");
    assert_eq!(fence.missing, vec![gone.clone()]);
    assert_eq!(tacet_sandbox::write_fence(), Some(&fence));
    // Inside: create, write, rename within a folder (Tacet's atomic
    // replace; Landlock refuses moving a file to another folder, which
    // nothing in Tacet does), remove, folders too.
    std::fs::create_dir(data.path().join("models")).unwrap();
    let f = data.path().join("models/index.json.tmp");
    std::fs::write(&f, b"sealed").unwrap();
    std::fs::rename(&f, data.path().join("models/index.json")).unwrap();
    std::fs::remove_file(data.path().join("models/index.json")).unwrap();
    std::fs::write("/dev/null", b"x").unwrap();
    // Outside: the shell's start-up file, a new autostart entry, the
    // shared temporary folder, a root that was not there.
    let denied = |r: std::io::Result<()>| {
        let e = r.expect_err("a write outside the fence succeeded");
        assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied, "{e}");
    };
    denied(
        std::fs::OpenOptions::new()
            .append(true)
            .open(&profile)
            .map(|_| ()),
    );
    denied(std::fs::create_dir(home.path().join(".config")));
    denied(std::fs::write(
        home.path().join("payload.desktop"),
        b"[Desktop Entry]",
    ));
    denied(std::fs::remove_file(&profile));
    denied(std::fs::write(
        std::env::temp_dir().join(format!("tacet-fence-{}", std::process::id())),
        b"x",
    ));
    denied(std::fs::create_dir(&gone));
    // Reading is not fenced.
    assert_eq!(std::fs::read(&profile).unwrap(), b"# the user's own\n");
}

/// `process_vm_readv` of `len` bytes at `at` in process `pid`: Ok(bytes
/// read) or Err(errno).
fn read_memory(pid: libc::pid_t, at: *mut u8, len: usize) -> Result<isize, i32> {
    let mut buf = vec![0u8; len];
    let local = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: len,
    };
    let remote = libc::iovec {
        iov_base: at.cast(),
        iov_len: len,
    };
    // SAFETY: both iovecs describe `len` bytes we own (ours to read, the
    // buffer to write); the kernel checks the remote range itself.
    let n = unsafe { libc::process_vm_readv(pid, &local, 1, &remote, 1, 0) };
    if n >= 0 {
        Ok(n)
    } else {
        Err(errno())
    }
}

/// `pidfd_getfd` of descriptor `fd` of process `pid`: Ok(new fd) or Err(errno).
fn take_descriptor(pid: libc::pid_t, fd: i32) -> Result<i32, i32> {
    // SAFETY: pidfd_open and pidfd_getfd take plain integers.
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if pidfd < 0 {
        return Err(errno());
    }
    // SAFETY: as above; a new descriptor, if any, is closed below.
    let got = unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd, fd, 0) };
    let e = errno();
    close(pidfd as i32);
    if got >= 0 {
        close(got as i32);
        Ok(got as i32)
    } else {
        Err(e)
    }
}

/// `ptrace(PTRACE_SEIZE, pid)`: Ok or Err(errno).
fn seize(pid: libc::pid_t) -> Result<(), i32> {
    // SAFETY: PTRACE_SEIZE takes a pid and null address/data.
    let r = unsafe {
        libc::ptrace(
            libc::PTRACE_SEIZE,
            pid,
            std::ptr::null_mut::<libc::c_void>(),
            std::ptr::null_mut::<libc::c_void>(),
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(errno())
    }
}

/// A child that waits to be killed (forked: async-signal-safe calls only).
fn idle_child() -> libc::pid_t {
    // SAFETY: the child only calls pause() and _exit(), both
    // async-signal-safe, so forking a threaded test process is sound.
    match unsafe { libc::fork() } {
        0 => loop {
            // SAFETY: pause takes nothing and only waits for a signal.
            unsafe { libc::pause() };
        },
        pid if pid > 0 => pid,
        _ => panic!("fork failed: {}", errno()),
    }
}

fn kill_and_reap(pid: libc::pid_t) {
    // SAFETY: pid is our own child; kill and waitpid take plain values.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
        libc::waitpid(pid, std::ptr::null_mut(), 0);
    }
}

/// Issue 22, item 7: the routes around the network filter through other
/// processes. Each is tried before hardening (the control: it works here)
/// and after (refused with EPERM): reading another process's memory,
/// taking its open descriptor (a connected socket, for instance),
/// attaching to it with ptrace, and starting a new program.
#[test]
fn other_processes_and_new_programs_are_out_of_reach_after_hardening() {
    const ME: &str = "other_processes_and_new_programs_are_out_of_reach_after_hardening";
    if !is_child(ME) {
        let out = assert_child_passed(ME);
        assert!(out.contains("refused with EPERM"), "{out}");
        return;
    }
    // SAFETY: getpid has no arguments.
    let me = unsafe { libc::getpid() };
    let mut secret = *b"a connected socket or a key";
    let at = secret.as_mut_ptr();
    let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    let fd = std::os::fd::AsRawFd::as_raw_fd(&a);
    let traced = idle_child();
    let seize_before = seize(traced);
    kill_and_reap(traced);
    // The controls, before hardening.
    assert_eq!(read_memory(me, at, secret.len()), Ok(secret.len() as isize));
    let getfd_before = take_descriptor(me, fd);
    assert!(
        std::process::Command::new("/bin/true")
            .status()
            .unwrap()
            .success(),
        "the control program runs"
    );
    println!("before hardening: memory read ok, pidfd_getfd {getfd_before:?}, ptrace {seize_before:?}, exec ok");

    let report = tacet_sandbox::harden();
    assert!(report.seccomp_process.is_active(), "{report}");
    assert_eq!(read_memory(me, at, secret.len()), Err(libc::EPERM));
    if getfd_before.is_ok() {
        assert_eq!(take_descriptor(me, fd), Err(libc::EPERM));
    }
    if seize_before.is_ok() {
        let traced = idle_child();
        let after = seize(traced);
        kill_and_reap(traced);
        assert_eq!(after, Err(libc::EPERM));
    }
    let err = std::process::Command::new("/bin/true")
        .status()
        .unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EPERM), "{err}");
    // SAFETY: execve with valid C strings; on success it never returns.
    let r = unsafe {
        let prog = c"/bin/true";
        let argv = [prog.as_ptr(), std::ptr::null()];
        let envp = [std::ptr::null()];
        libc::execve(prog.as_ptr(), argv.as_ptr(), envp.as_ptr())
    };
    assert_eq!((r, errno()), (-1, libc::EPERM));
    println!(
        "after hardening: process_vm_readv, pidfd_getfd ({}), ptrace ({}), execve: refused with EPERM",
        if getfd_before.is_ok() { "checked" } else { "not available here" },
        if seize_before.is_ok() { "checked" } else { "not available here" },
    );
}

/// The test variant keeps `execve` and says so; every other rule holds.
#[test]
fn the_danger_variant_keeps_exec_and_reports_it() {
    const ME: &str = "the_danger_variant_keeps_exec_and_reports_it";
    if !is_child(ME) {
        assert_child_passed(ME);
        return;
    }
    let report = tacet_sandbox::danger_harden_allowing_exec();
    assert!(report.network_denied(), "{report}");
    assert!(!report.seccomp_process.is_active(), "{report}");
    assert!(!report.fully_hardened());
    assert!(
        report
            .warnings()
            .iter()
            .any(|w| w.contains("execve left allowed")),
        "{:?}",
        report.warnings()
    );
    assert!(std::process::Command::new("/bin/true")
        .status()
        .unwrap()
        .success());
    let mut x = [7u8; 8];
    // SAFETY: getpid has no arguments.
    let me = unsafe { libc::getpid() };
    assert_eq!(read_memory(me, x.as_mut_ptr(), 8), Err(libc::EPERM));
    assert_eq!(
        std::net::TcpStream::connect("127.0.0.1:9")
            .unwrap_err()
            .raw_os_error(),
        Some(libc::EACCES)
    );
}

#[test]
fn landlock_refuses_tcp_on_a_socket_made_before_hardening() {
    const ME: &str = "landlock_refuses_tcp_on_a_socket_made_before_hardening";
    if !is_child(ME) {
        assert_child_passed(ME);
        return;
    }
    // Before hardening: a listener, a socket that connects (the control)
    // and two sockets kept for after.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let control = socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC).unwrap();
    assert_eq!(connect_v4(control, port), Ok(()), "the control connects");
    let later = socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC).unwrap();
    let later_bind = socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC).unwrap();

    let report = tacet_sandbox::harden();
    let abi = report.landlock_abi;
    println!("Landlock ABI seen: {abi:?}");
    if abi.is_none_or(|v| v < 4) {
        println!(
            "skipping the Landlock check: this kernel has no Landlock network rules ({})",
            report.landlock_network
        );
        return;
    }
    assert!(report.landlock_network.is_active(), "{report}");
    assert_eq!(connect_v4(later, port), Err(libc::EACCES));
    assert_eq!(bind_v4_any_port(later_bind), Err(libc::EACCES));
    println!("connect and bind on sockets made before hardening: refused with EACCES");
    for fd in [control, later, later_bind] {
        close(fd);
    }
}

#[test]
fn core_dumps_are_off_after_hardening() {
    const ME: &str = "core_dumps_are_off_after_hardening";
    if !is_child(ME) {
        assert_child_passed(ME);
        return;
    }
    let report = tacet_sandbox::harden();
    assert!(report.core_dumps_off(), "{report}");
    let mut lim = libc::rlimit {
        rlim_cur: 1,
        rlim_max: 1,
    };
    // SAFETY: getrlimit writes into the struct we own.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_CORE, &mut lim) }, 0);
    assert_eq!((lim.rlim_cur, lim.rlim_max), (0, 0));
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap();
    let fields: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(&fields[4..6], ["0", "0"], "{line}");
    // SAFETY: reading the dumpable flag has no side effect.
    assert_eq!(unsafe { libc::prctl(libc::PR_GET_DUMPABLE, 0, 0, 0, 0) }, 0);
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_string())
    };
    assert_eq!(field("NoNewPrivs:").as_deref(), Some("1"), "{status}");
    assert_eq!(field("Seccomp:").as_deref(), Some("2"), "{status}");
    assert_eq!(field("CoreDumping:").as_deref(), Some("0"), "{status}");
}

/// The crash, for real: the child hardens itself, then even lifts the core
/// limit again (root may) and dies of SIGSEGV. The kernel must not dump.
#[test]
fn a_crash_after_hardening_leaves_no_core() {
    const ME: &str = "a_crash_after_hardening_leaves_no_core";
    if is_child(ME) {
        let report = tacet_sandbox::harden();
        assert!(report.core_dumps_off(), "{report}");
        crash_with_core_limit_lifted();
    }
    let control = control_crash_dumps_core();
    let dir = tempfile::tempdir().unwrap();
    let out = run_child(ME, dir.path());
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGSEGV),
        "the child did not crash as planned ({:?}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.core_dumped(), "the kernel dumped a core");
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "files left by the crash: {left:?}");
    eprintln!("hardened crash: SIGSEGV, no core dumped, working dir empty ({control})");
}

/// Raises the core limit as far as allowed and dies of SIGSEGV.
fn crash_with_core_limit_lifted() -> ! {
    let unlimited = libc::rlimit {
        rlim_cur: libc::RLIM_INFINITY,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: setrlimit reads the struct; signal/raise take plain values.
    // The default action is restored first because std's handler for stack
    // overflows would otherwise swallow a raised (not faulted) SIGSEGV.
    unsafe {
        libc::setrlimit(libc::RLIMIT_CORE, &unlimited);
        libc::signal(libc::SIGSEGV, libc::SIG_DFL);
        libc::raise(libc::SIGSEGV);
    }
    unreachable!("SIGSEGV with its default action ends the process")
}

const CONTROL: &str = "TACET_SANDBOX_CONTROL_CRASH";

/// The same crash without hardening, to show the check can see a core when
/// there is one. Only where the core pattern writes a plain file into the
/// working directory; otherwise says why it proves nothing here.
fn control_crash_dumps_core() -> String {
    if std::env::var_os(CONTROL).is_some() {
        crash_with_core_limit_lifted();
    }
    let pattern = std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap_or_default();
    let pattern = pattern.trim();
    if pattern.is_empty() || pattern.starts_with('|') || pattern.contains('/') {
        return format!(
            "control skipped: core pattern {pattern:?} does not write to the working directory"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "a_crash_after_hardening_leaves_no_core",
            "--exact",
            "--test-threads=1",
        ])
        .env(CONTROL, "1")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.signal(), Some(libc::SIGSEGV), "{:?}", out.status);
    if !out.status.core_dumped() {
        return "control skipped: this system dumps no core even unhardened (hard limit?)".into();
    }
    let left = std::fs::read_dir(dir.path()).unwrap().count();
    assert!(
        left > 0,
        "the unhardened crash dumped a core but no file is left"
    );
    format!("control: the same crash unhardened dumped a core ({left} file(s))")
}

#[test]
fn abstract_sockets_and_signals_outside_the_process_are_out_of_reach() {
    const ME: &str = "abstract_sockets_and_signals_outside_the_process_are_out_of_reach";
    const NAME: &str = "TACET_SANDBOX_ABSTRACT_NAME";
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::net::{SocketAddr, UnixListener, UnixStream};
    if !is_child(ME) {
        // An abstract socket made outside the child, as an X server's or a
        // local service's would be.
        let name = format!("tacet-sandbox-test-{}", std::process::id());
        let outside =
            UnixListener::bind_addr(&SocketAddr::from_abstract_name(name.as_bytes()).unwrap())
                .unwrap();
        assert_child_passed_with(ME, &[(NAME, &name)]);
        drop(outside);
        return;
    }
    let name = std::env::var(NAME).unwrap();
    let outside = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
    // Before hardening the outside socket is reachable.
    drop(UnixStream::connect_addr(&outside).unwrap());
    let report = tacet_sandbox::harden();
    println!("{report}");
    match report.landlock_scopes {
        tacet_sandbox::LayerStatus::Active => {
            let err = UnixStream::connect_addr(&outside).unwrap_err();
            assert_eq!(err.raw_os_error(), Some(libc::EPERM), "{err}");
            // One the process makes itself still works.
            let own = SocketAddr::from_abstract_name(format!("{name}-own").as_bytes()).unwrap();
            let listener = UnixListener::bind_addr(&own).unwrap();
            drop(UnixStream::connect_addr(&own).unwrap());
            drop(listener);
            // No signal to another process (even signal 0, which only asks
            // whether it exists).
            // SAFETY: kill with signal 0 sends nothing; getppid cannot fail.
            let r = unsafe { libc::kill(libc::getppid(), 0) };
            assert_eq!((r, errno()), (-1, libc::EPERM));
        }
        tacet_sandbox::LayerStatus::NotSupported { reason } => {
            println!("Landlock scopes not supported here: {reason}");
            assert!(report.landlock_abi.is_none_or(|v| v < 6), "{reason}");
        }
        tacet_sandbox::LayerStatus::Failed(e) => panic!("scopes refused: {e}"),
    }
}
