//! The seccomp network filter: a classic-BPF program over
//! `struct seccomp_data { int nr; u32 arch; u64 ip; u64 args[6]; }`.
//!
//! Written as a small list of instructions whose jumps name their targets,
//! assembled into relative offsets, so a change cannot silently mis-aim a
//! jump. The program, in order:
//!
//! 1. another ABI than this binary's (i386 via `int 0x80` on x86_64, arm32
//!    on aarch64) → `EACCES` for every syscall: a process like ours never
//!    makes them, and they have their own socket numbers;
//! 2. (x86_64) an x32 syscall number (bit 30 set) → `EACCES`, same reason;
//! 3. `io_uring_setup` → `ENOSYS` (io_uring can open sockets itself);
//! 4. `ptrace`, `process_vm_readv`, `process_vm_writev` and `pidfd_getfd`
//!    → `EPERM`: no reading or steering another process, no taking its
//!    descriptors (a connected socket, an open file);
//! 5. `execve` and `execveat` → `EPERM`, unless the caller asked to keep
//!    them ([`Process::AllowExec`], tests only): no new program can run
//!    in the process or its children after start;
//! 6. `socket(domain, …)` with `domain` other than `AF_UNIX`/`AF_NETLINK`
//!    → `EACCES`;
//! 7. everything else is allowed.

use crate::{HardenError, LayerStatus};

#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH: Option<u32> = Some(0xc000_003e); // AUDIT_ARCH_X86_64
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH: Option<u32> = Some(0xc000_00b7); // AUDIT_ARCH_AARCH64
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
const AUDIT_ARCH: Option<u32> = None;

/// Offsets into `struct seccomp_data` (little-endian: the low half of
/// `args[0]` comes first; `domain` is an int, so the low half is all of it).
const OFFSET_NR: u32 = 0;
const OFFSET_ARCH: u32 = 4;
const OFFSET_ARG0_LOW: u32 = 16;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Label {
    Next,
    Allow,
    DenyEacces,
    DenyEnosys,
    DenyEperm,
}

/// What the filter does about other processes and new programs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Process {
    /// `ptrace`, `process_vm_*`, `pidfd_getfd`, `execve`, `execveat` refused.
    Deny,
    /// As `Deny`, but `execve`/`execveat` still allowed (a test process that
    /// must start helpers after hardening).
    AllowExec,
}

#[derive(Clone, Copy, Debug)]
enum Ins {
    /// Load the 32-bit word at this offset of `seccomp_data`.
    Load(u32),
    /// if A == k goto then else goto otherwise
    JumpEq(u32, Label, Label),
    /// if A >= k goto then else goto otherwise
    JumpGe(u32, Label, Label),
    /// Where a label points (emits nothing).
    Mark(Label),
    Return(u32),
}

fn program(arch: u32, process: Process) -> Vec<Ins> {
    use Ins::*;
    use Label::*;
    let errno = |e: i32| libc::SECCOMP_RET_ERRNO | (e as u32 & libc::SECCOMP_RET_DATA);
    let mut p = vec![
        Load(OFFSET_ARCH),
        JumpEq(arch, Next, DenyEacces),
        Load(OFFSET_NR),
    ];
    if cfg!(target_arch = "x86_64") {
        p.push(JumpGe(0x4000_0000, DenyEacces, Next)); // __X32_SYSCALL_BIT
    }
    p.extend([
        JumpEq(libc::SYS_io_uring_setup as u32, DenyEnosys, Next),
        JumpEq(libc::SYS_ptrace as u32, DenyEperm, Next),
        JumpEq(libc::SYS_process_vm_readv as u32, DenyEperm, Next),
        JumpEq(libc::SYS_process_vm_writev as u32, DenyEperm, Next),
        JumpEq(libc::SYS_pidfd_getfd as u32, DenyEperm, Next),
    ]);
    if process == Process::Deny {
        p.extend([
            JumpEq(libc::SYS_execve as u32, DenyEperm, Next),
            JumpEq(libc::SYS_execveat as u32, DenyEperm, Next),
        ]);
    }
    p.extend([
        JumpEq(libc::SYS_socket as u32, Next, Allow),
        Load(OFFSET_ARG0_LOW),
        JumpEq(libc::AF_UNIX as u32, Allow, Next),
        JumpEq(libc::AF_NETLINK as u32, Allow, DenyEacces),
        Mark(DenyEacces),
        Return(errno(libc::EACCES)),
        Mark(DenyEnosys),
        Return(errno(libc::ENOSYS)),
        Mark(DenyEperm),
        Return(errno(libc::EPERM)),
        Mark(Allow),
        Return(libc::SECCOMP_RET_ALLOW),
    ]);
    p
}

/// Turns named jumps into the relative offsets classic BPF wants.
/// `None` when a label is missing or a jump is out of range (a bug in
/// [`program`], caught by the tests).
fn assemble(prog: &[Ins]) -> Option<Vec<libc::sock_filter>> {
    let mut at = Vec::new();
    let mut index = 0usize;
    for ins in prog {
        match ins {
            Ins::Mark(l) => at.push((*l, index)),
            _ => index += 1,
        }
    }
    let target = |l: Label, here: usize| -> Option<u8> {
        let dest = if l == Label::Next {
            here + 1
        } else {
            at.iter().find(|(m, _)| *m == l)?.1
        };
        u8::try_from(dest.checked_sub(here + 1)?).ok()
    };
    let mut out = Vec::new();
    for ins in prog {
        let here = out.len();
        let (code, jt, jf, k) = match *ins {
            Ins::Mark(_) => continue,
            Ins::Load(off) => (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, 0, 0, off),
            Ins::JumpEq(k, t, f) => (
                libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K,
                target(t, here)?,
                target(f, here)?,
                k,
            ),
            Ins::JumpGe(k, t, f) => (
                libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K,
                target(t, here)?,
                target(f, here)?,
                k,
            ),
            Ins::Return(k) => (libc::BPF_RET | libc::BPF_K, 0, 0, k),
        };
        out.push(libc::sock_filter {
            code: u16::try_from(code).ok()?,
            jt,
            jf,
            k,
        });
    }
    Some(out)
}

/// Installs the filter; the status covers the whole filter (network and
/// process rules arrive together or not at all).
pub(crate) fn install(process: Process) -> LayerStatus {
    let Some(arch) = AUDIT_ARCH else {
        return LayerStatus::NotSupported {
            reason: format!(
                "no seccomp filter is written for this processor ({})",
                std::env::consts::ARCH
            ),
        };
    };
    let Some(filter) = assemble(&program(arch, process)) else {
        return LayerStatus::NotSupported {
            reason: "the seccomp filter did not assemble (a bug in tacet-sandbox)".into(),
        };
    };
    let prog = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_ptr().cast_mut(),
    };
    // SAFETY: prctl(PR_SET_NO_NEW_PRIVS) takes plain integers. It is
    // required to install a filter without CAP_SYS_ADMIN and only ever
    // removes privileges (setuid binaries run later lose theirs).
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return LayerStatus::Failed(HardenError::NoNewPrivs {
            errno: std::io::Error::last_os_error().raw_os_error().unwrap_or(0),
        });
    }
    // SAFETY: `prog` points at `filter`, which outlives the call; the kernel
    // copies the program before returning and keeps no pointer to it.
    let r = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            libc::SECCOMP_FILTER_FLAG_TSYNC,
            &prog as *const libc::sock_fprog,
        )
    };
    match r {
        0 => LayerStatus::Active,
        // With TSYNC, a positive result is the id of a thread that could
        // not be synchronised; nothing was installed.
        id if id > 0 => LayerStatus::Failed(HardenError::SeccompThreadSync { thread_id: id }),
        _ => LayerStatus::Failed(HardenError::Seccomp {
            errno: std::io::Error::last_os_error().raw_os_error().unwrap_or(0),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_program_assembles_and_every_jump_lands_inside_it() {
        let arch = AUDIT_ARCH.unwrap_or(0);
        for process in [Process::Deny, Process::AllowExec] {
            every_jump_lands(&assemble(&program(arch, process)).expect("assembles"));
        }
    }

    fn every_jump_lands(f: &[libc::sock_filter]) {
        for (i, ins) in f.iter().enumerate() {
            if ins.code == (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16
                || ins.code == (libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K) as u16
            {
                assert!(i + 1 + (ins.jt as usize) < f.len());
                assert!(i + 1 + (ins.jf as usize) < f.len());
            }
        }
        // It ends in returns only.
        assert_eq!(f.last().unwrap().code, (libc::BPF_RET | libc::BPF_K) as u16);
        assert_eq!(f.last().unwrap().k, libc::SECCOMP_RET_ALLOW);
    }

    #[test]
    fn only_the_test_variant_lets_a_new_program_start() {
        let arch = AUDIT_ARCH.unwrap_or(0);
        let names = |process| -> Vec<u32> {
            assemble(&program(arch, process))
                .expect("assembles")
                .iter()
                .filter(|i| i.code == (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16)
                .map(|i| i.k)
                .collect()
        };
        let deny = names(Process::Deny);
        let allow = names(Process::AllowExec);
        for nr in [
            libc::SYS_ptrace,
            libc::SYS_process_vm_readv,
            libc::SYS_process_vm_writev,
            libc::SYS_pidfd_getfd,
        ] {
            assert!(deny.contains(&(nr as u32)) && allow.contains(&(nr as u32)));
        }
        for nr in [libc::SYS_execve, libc::SYS_execveat] {
            assert!(deny.contains(&(nr as u32)));
            assert!(!allow.contains(&(nr as u32)));
        }
    }

    #[test]
    fn fail_a_missing_label_does_not_assemble() {
        let p = [
            Ins::Load(0),
            Ins::JumpEq(1, Label::Allow, Label::Next),
            Ins::Return(0),
        ];
        assert!(assemble(&p).is_none());
    }
}
