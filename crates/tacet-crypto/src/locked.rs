//! Where a [`crate::Key256`] lives: a page of its own, locked in memory.
//!
//! Keys are zeroized on drop, but while they live the kernel may write the
//! page that holds them to swap (a file or partition on the practice's
//! disk, where an insider with the disk could find it later) or into a core
//! dump. So each key gets an anonymous page of its own, `mlock`ed (never
//! swapped) and marked `MADV_DONTDUMP` (never in a core dump, beside the
//! sandbox's process-wide `RLIMIT_CORE` = 0); the page is zeroized, unlocked
//! and unmapped on drop. One page per key is cheap: a vault keeps a handful
//! of keys alive at a time.
//!
//! Locking can fail where `RLIMIT_MEMLOCK` is exhausted (Debian's default
//! for a desktop user is 8 MiB, room for 2,048 keys). The key then still
//! lives in its own page, zeroized on drop, and [`key_pages_locked`] says
//! so for the support log. Off Unix, keys live on the heap, zeroized.

use std::sync::atomic::{AtomicBool, Ordering};
use zeroize::{Zeroize, Zeroizing};

/// Set once any key page could not be locked.
static LOCK_FAILED: AtomicBool = AtomicBool::new(false);

/// Whether every key page so far was locked; probes one page if no key
/// exists yet. `false` means a key could have been swapped.
#[must_use]
pub fn key_pages_locked() -> bool {
    let probe = KeyCell::new(&[0u8; 32]);
    probe.is_locked() && !LOCK_FAILED.load(Ordering::Relaxed)
}

pub(crate) enum KeyCell {
    #[cfg(unix)]
    Page(page::Page),
    Heap(Box<Zeroizing<[u8; 32]>>),
}

impl KeyCell {
    pub(crate) fn new(bytes: &[u8; 32]) -> Self {
        #[cfg(unix)]
        if let Some(p) = page::Page::new(bytes) {
            if !p.locked {
                LOCK_FAILED.store(true, Ordering::Relaxed);
            }
            return KeyCell::Page(p);
        }
        LOCK_FAILED.store(true, Ordering::Relaxed);
        KeyCell::Heap(Box::new(Zeroizing::new(*bytes)))
    }

    pub(crate) fn get(&self) -> &[u8; 32] {
        match self {
            #[cfg(unix)]
            KeyCell::Page(p) => p.get(),
            KeyCell::Heap(b) => b,
        }
    }

    pub(crate) fn is_locked(&self) -> bool {
        match self {
            #[cfg(unix)]
            KeyCell::Page(p) => p.locked,
            KeyCell::Heap(_) => false,
        }
    }
}

impl Clone for KeyCell {
    fn clone(&self) -> Self {
        let mut copy = *self.get();
        let cell = KeyCell::new(&copy);
        copy.zeroize();
        cell
    }
}

#[cfg(unix)]
mod page {
    use std::ptr::NonNull;
    use zeroize::Zeroize;

    /// One anonymous private page holding one 32-byte key at its start.
    pub(crate) struct Page {
        ptr: NonNull<[u8; 32]>,
        len: usize,
        pub(crate) locked: bool,
    }

    // SAFETY: the page is owned by this value alone (no aliasing pointer
    // exists) and only read through `&self`, so moving it between threads
    // or sharing `&Page` is as safe as for a `Box<[u8; 32]>`.
    unsafe impl Send for Page {}
    // SAFETY: as above; `get` hands out shared references only.
    unsafe impl Sync for Page {}

    impl Page {
        pub(crate) fn new(bytes: &[u8; 32]) -> Option<Self> {
            // SAFETY: sysconf takes a constant and touches no memory.
            let len = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) })
                .ok()
                .filter(|&l| l >= 32)?;
            // SAFETY: a fresh anonymous private mapping with no address hint
            // and no file; the result is checked against MAP_FAILED.
            let p = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    len,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                )
            };
            if p == libc::MAP_FAILED {
                return None;
            }
            // SAFETY: `p` is the start of the `len`-byte mapping made above.
            let locked = unsafe { libc::mlock(p, len) } == 0;
            #[cfg(target_os = "linux")]
            // SAFETY: as above; MADV_DONTDUMP only changes what a core dump
            // includes. Its failure leaves the page dumpable, which the
            // process-wide RLIMIT_CORE = 0 still covers.
            unsafe {
                libc::madvise(p, len, libc::MADV_DONTDUMP);
            }
            let ptr = NonNull::new(p.cast::<[u8; 32]>())?;
            // SAFETY: the mapping is writable, page-aligned and at least 32
            // bytes long, and nothing else points into it.
            unsafe { ptr.as_ptr().write(*bytes) };
            Some(Page { ptr, len, locked })
        }

        pub(crate) fn get(&self) -> &[u8; 32] {
            // SAFETY: `ptr` points to an initialised key inside the mapping,
            // which lives until `drop`; the reference borrows `self`.
            unsafe { self.ptr.as_ref() }
        }
    }

    impl Drop for Page {
        fn drop(&mut self) {
            // SAFETY: we own the mapping exclusively (`&mut self`).
            unsafe { self.ptr.as_mut() }.zeroize();
            let p = self.ptr.as_ptr().cast::<libc::c_void>();
            // SAFETY: `p`/`len` are the mapping made in `new`, unmapped
            // only here, once.
            unsafe {
                if self.locked {
                    libc::munlock(p, self.len);
                }
                libc::munmap(p, self.len);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_keeps_its_bytes_through_clones_and_drops() {
        let a = KeyCell::new(&[7u8; 32]);
        let b = a.clone();
        drop(a);
        assert_eq!(b.get(), &[7u8; 32]);
        let many: Vec<KeyCell> = (0..64u8).map(|i| KeyCell::new(&[i; 32])).collect();
        for (i, k) in many.iter().enumerate() {
            assert_eq!(k.get()[31] as usize, i);
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn key_pages_are_locked_where_the_limit_allows() {
        // The kernel counts locked memory per process: a live key raises
        // VmLck in /proc/self/status by at least one page.
        fn vm_lck_kib() -> u64 {
            std::fs::read_to_string("/proc/self/status")
                .unwrap_or_default()
                .lines()
                .find_map(|l| l.strip_prefix("VmLck:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                .unwrap_or(0)
        }
        let keys: Vec<KeyCell> = (0..8u8).map(|i| KeyCell::new(&[i; 32])).collect();
        if keys.iter().all(KeyCell::is_locked) {
            assert!(vm_lck_kib() >= 4, "VmLck {} kB", vm_lck_kib());
            assert!(key_pages_locked());
        } else {
            // RLIMIT_MEMLOCK exhausted: reported, never silently claimed.
            assert!(!key_pages_locked());
        }
    }
}
