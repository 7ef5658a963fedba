//! Process hardening at start, before any patient data is in memory:
//! no core dumps (a dump would hold decrypted audio, transcripts and keys)
//! and no ptrace attach by other processes of the same user.

/// Best effort: a failure is reported once and the program goes on, since
/// refusing to start would help no one; `tacet` prints the warning.
pub fn harden() -> Result<(), String> {
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
            return Err("could not disable core dumps for this process".into());
        }
    }
    Ok(())
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    #[test]
    fn core_dumps_are_off_after_hardening() {
        super::harden().unwrap();
        let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
        let line = limits
            .lines()
            .find(|l| l.starts_with("Max core file size"))
            .unwrap();
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(&fields[4..6], ["0", "0"], "{line}");
        // SAFETY: reading the dumpable flag has no side effect.
        assert_eq!(unsafe { libc::prctl(libc::PR_GET_DUMPABLE, 0, 0, 0, 0) }, 0);
    }
}
