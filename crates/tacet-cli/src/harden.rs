//! Process hardening at start, before any patient data is in memory:
//! - no core dumps (a dump would hold decrypted audio, transcripts and
//!   keys) and no ptrace attach by other processes of the same user;
//! - no network: a seccomp filter makes `socket(AF_INET | AF_INET6, …)`
//!   fail with EACCES for the rest of the process's life, threads included.
//!   Local sockets (AF_UNIX, which PulseAudio and D-Bus use) stay allowed.
//!   Nothing in Tacet needs the network; this makes "it cannot" true even if
//!   a dependency tried.

/// Best effort: each failure is reported and the program goes on, since
/// refusing to start would help no one; `tacet` prints the warnings.
pub fn harden() -> Vec<String> {
    let mut problems = Vec::new();
    #[cfg(target_os = "linux")]
    {
        let zero = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: setrlimit and prctl take plain values; no memory is shared.
        let r1 = unsafe { libc::setrlimit(libc::RLIMIT_CORE, &zero) };
        let r2 = unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };
        if r1 != 0 || r2 != 0 {
            problems.push("could not disable core dumps for this process".to_string());
        }
        if let Err(e) = deny_network() {
            problems.push(e);
        }
    }
    problems
}

#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
fn deny_network() -> Result<(), String> {
    // Classic BPF over `struct seccomp_data { int nr; u32 arch; u64 ip; u64 args[6]; }`.
    const BPF_LD_W_ABS: u16 = 0x20; // BPF_LD (0) | BPF_W (0) | BPF_ABS (0x20)
    const BPF_JEQ_K: u16 = 0x05 | 0x10; // BPF_JMP | BPF_JEQ | BPF_K
    const BPF_RET_K: u16 = 0x06; // BPF_RET | BPF_K
    const RET_ALLOW: u32 = 0x7fff_0000;
    const RET_ERRNO: u32 = 0x0005_0000;
    #[cfg(target_arch = "x86_64")]
    const ARCH: u32 = 0xc000_003e; // AUDIT_ARCH_X86_64
    #[cfg(target_arch = "x86_64")]
    const NR_SOCKET: u32 = 41;
    #[cfg(target_arch = "aarch64")]
    const ARCH: u32 = 0xc000_00b7; // AUDIT_ARCH_AARCH64
    #[cfg(target_arch = "aarch64")]
    const NR_SOCKET: u32 = 198;
    let stmt = |code, k| libc::sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    };
    let jump = |k, jt, jf| libc::sock_filter {
        code: BPF_JEQ_K,
        jt,
        jf,
        k,
    };
    let filter = [
        stmt(BPF_LD_W_ABS, 4),             // arch
        jump(ARCH, 0, 5),                  // another ABI: allow
        stmt(BPF_LD_W_ABS, 0),             // syscall number
        jump(NR_SOCKET, 0, 3),             // not socket(): allow
        stmt(BPF_LD_W_ABS, 16),            // args[0] (domain), low half
        jump(libc::AF_INET as u32, 2, 0),  // AF_INET: deny
        jump(libc::AF_INET6 as u32, 1, 0), // AF_INET6: deny
        stmt(BPF_RET_K, RET_ALLOW),
        stmt(BPF_RET_K, RET_ERRNO | libc::EACCES as u32),
    ];
    let prog = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: `prog` points at `filter`, which outlives the call; the kernel
    // copies the program. NO_NEW_PRIVS is required to install a filter
    // without CAP_SYS_ADMIN and only ever removes privileges.
    unsafe {
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
            return Err(
                "could not set no_new_privs; network access is not blocked by a filter".into(),
            );
        }
        if libc::prctl(
            libc::PR_SET_SECCOMP,
            libc::SECCOMP_MODE_FILTER,
            &prog as *const libc::sock_fprog,
        ) != 0
        {
            return Err(
                "could not install the seccomp filter; network access is not blocked by a filter"
                    .into(),
            );
        }
    }
    Ok(())
}

#[cfg(all(
    target_os = "linux",
    not(any(target_arch = "x86_64", target_arch = "aarch64"))
))]
fn deny_network() -> Result<(), String> {
    Err("no network filter for this processor architecture".into())
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    #[test]
    fn core_dumps_and_network_are_off_after_hardening() {
        assert_eq!(super::harden(), Vec::<String>::new());
        let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
        let line = limits
            .lines()
            .find(|l| l.starts_with("Max core file size"))
            .unwrap();
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(&fields[4..6], ["0", "0"], "{line}");
        // SAFETY: reading the dumpable flag has no side effect.
        assert_eq!(unsafe { libc::prctl(libc::PR_GET_DUMPABLE, 0, 0, 0, 0) }, 0);
        // An IP socket is refused by the filter (not merely unreachable)…
        let err = std::net::TcpStream::connect("127.0.0.1:9").unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EACCES), "{err}");
        let err = std::net::UdpSocket::bind("[::1]:0").unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EACCES), "{err}");
        // …while local sockets (PulseAudio, D-Bus) still work.
        assert!(std::os::unix::net::UnixDatagram::unbound().is_ok());
    }
}
