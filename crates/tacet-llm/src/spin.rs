//! A spinning pool for decode's short parallel loops.
//!
//! Why: decoding one token runs about 150 parallel loops (each layer's
//! matrix-vector products and its attention), each a few tens of
//! microseconds. On rayon's pool the other thread yields and falls asleep
//! between them, so every loop pays a futex wake-up: measured on a 2-core
//! Xeon, 8% of a 2-thread decode's CPU time was in the scheduler and decode
//! ran at 0.81–0.83× llama.cpp, whose threads spin at a barrier. Here the
//! helper threads spin on an epoch counter between jobs, as llama.cpp's do.
//!
//! The decisions:
//!
//! - **Helpers spin, then sleep.** A helper spins for [`SPIN_BEFORE_SLEEP`]
//!   after its last job, then sleeps on a condvar, so a pause between
//!   drafts costs no CPU; the caller only takes the condvar's lock when a
//!   helper is asleep.
//! - **The caller never waits for a helper that has not joined.** A job
//!   is closed as soon as the caller runs out of tasks, and only helpers
//!   that joined before that are waited for. A helper that was descheduled
//!   (another process on its core: the app transcribes while it drafts)
//!   leaves its share to the caller instead of stalling it, which is how
//!   spin barriers collapse on an oversubscribed machine.
//! - **Tasks from an atomic counter,** so whoever is free takes the next
//!   chunk of rows.
//! - **One job at a time.** A second caller (another thread, or a task that
//!   calls in again) does not wait for the pool: it runs its loop itself.
//! - **Not beside another spinning pool.** A model with matrices on
//!   candle's kernels (Gemma 3's Q5_0 when it is not widened at load, or a
//!   format we have no kernel for) also runs candle's barrier
//!   pool in decode; with our helpers spinning too a 2-core machine had
//!   three busy threads and decode slowed by a fifth. Its forward pass runs
//!   inside [`allowed_while`]`(false, …)`, and the loops go to rayon's pool.
//! - **One `unsafe`:** a helper reads the job, a closure on the caller's
//!   stack, through a pointer; the caller does not return (or unwind)
//!   until every helper that joined has left it, which is the whole proof.
//!   A panic in a helper's task is caught there and raised again in the
//!   caller.

use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How long an idle helper spins before it sleeps: longer than the gap
/// between two decoded tokens (sampling, detokenizing, the caller's
/// callback), short enough that a pause between sections costs nothing.
const SPIN_BEFORE_SLEEP: Duration = Duration::from_millis(2);

/// `state`: the job's epoch in the high 32 bits, a closed flag, and the
/// number of helpers working on it in the low bits.
const CLOSED: u64 = 1 << 31;
const USERS: u64 = CLOSED - 1;

fn epoch(state: u64) -> u64 {
    state >> 32
}

struct Job<'a> {
    f: &'a (dyn Fn(usize) + Sync),
    tasks: usize,
}

struct Shared {
    state: AtomicU64,
    job: AtomicPtr<Job<'static>>,
    next: AtomicUsize,
    panicked: AtomicBool,
    sleepers: AtomicUsize,
    lock: Mutex<()>,
    wake: Condvar,
}

struct Pool {
    shared: Arc<Shared>,
    /// Held by the caller of the job in flight.
    busy: Mutex<()>,
}

fn pool() -> Option<&'static Pool> {
    static POOL: OnceLock<Option<Pool>> = OnceLock::new();
    POOL.get_or_init(|| {
        let helpers = crate::threads::effective_threads().saturating_sub(1);
        if helpers == 0 {
            return None;
        }
        let shared = Arc::new(Shared {
            state: AtomicU64::new(0),
            job: AtomicPtr::new(std::ptr::null_mut()),
            next: AtomicUsize::new(0),
            panicked: AtomicBool::new(false),
            sleepers: AtomicUsize::new(0),
            lock: Mutex::new(()),
            wake: Condvar::new(),
        });
        for i in 0..helpers {
            let sh = Arc::clone(&shared);
            let spawned = std::thread::Builder::new()
                .name(format!("tacet-decode-{i}"))
                .spawn(move || helper(&sh));
            if spawned.is_err() {
                // No helper at all: every loop runs on its caller.
                if i == 0 {
                    return None;
                }
                break;
            }
        }
        Some(Pool {
            shared,
            busy: Mutex::new(()),
        })
    })
    .as_ref()
}

fn helper(sh: &Shared) {
    let mut seen = 0;
    loop {
        let mut spins = 0u32;
        let mut idle_since: Option<Instant> = None;
        let mut state = sh.state.load(Ordering::Acquire);
        while epoch(state) == seen {
            std::hint::spin_loop();
            spins = spins.wrapping_add(1);
            if spins.is_multiple_of(1024)
                && idle_since.get_or_insert_with(Instant::now).elapsed() > SPIN_BEFORE_SLEEP
            {
                sleep_until_after(sh, seen);
                idle_since = None;
            }
            state = sh.state.load(Ordering::Acquire);
        }
        seen = epoch(state);
        // Join the job unless the caller has closed it (or moved on).
        let joined = loop {
            if epoch(state) != seen || state & CLOSED != 0 {
                break false;
            }
            match sh.state.compare_exchange_weak(
                state,
                state + 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break true,
                Err(now) => state = now,
            }
        };
        if !joined {
            continue;
        }
        let ptr = sh.job.load(Ordering::Acquire);
        if !ptr.is_null() {
            // SAFETY: the caller published `ptr` before opening this epoch
            // and does not return or unwind past the job (its `Closer`)
            // until the count of joined helpers, which includes us, is back
            // to zero; we leave the job before decrementing it.
            let job = unsafe { &*ptr };
            let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| loop {
                let i = sh.next.fetch_add(1, Ordering::Relaxed);
                if i >= job.tasks {
                    break;
                }
                (job.f)(i);
            }));
            if ran.is_err() {
                sh.panicked.store(true, Ordering::Release);
            }
        }
        sh.state.fetch_sub(1, Ordering::Release);
    }
}

fn sleep_until_after(sh: &Shared, seen: u64) {
    sh.sleepers.fetch_add(1, Ordering::SeqCst);
    let mut guard = sh.lock.lock().unwrap_or_else(|e| e.into_inner());
    while epoch(sh.state.load(Ordering::SeqCst)) == seen {
        guard = sh.wake.wait(guard).unwrap_or_else(|e| e.into_inner());
    }
    drop(guard);
    sh.sleepers.fetch_sub(1, Ordering::SeqCst);
}

/// Closes the job and waits for the helpers in it, also when the caller's
/// own task unwinds.
struct Closer<'a>(&'a Shared);

impl Drop for Closer<'_> {
    fn drop(&mut self) {
        let sh = self.0;
        sh.state.fetch_or(CLOSED, Ordering::AcqRel);
        while sh.state.load(Ordering::Acquire) & USERS != 0 {
            std::hint::spin_loop();
        }
        sh.job.store(std::ptr::null_mut(), Ordering::Release);
    }
}

thread_local! {
    static ALLOWED: std::cell::Cell<bool> = const { std::cell::Cell::new(true) };
}

/// Runs `f` with loops started on this thread going to the spinning pool
/// (`allowed`) or to rayon's pool.
pub(crate) fn allowed_while<R>(allowed: bool, f: impl FnOnce() -> R) -> R {
    /// Restores the setting, also when `f` unwinds.
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            ALLOWED.with(|a| a.set(self.0));
        }
    }
    let _restore = Restore(ALLOWED.with(|a| a.replace(allowed)));
    f()
}

/// Runs `f(0)`, …, `f(tasks - 1)`, on the calling thread and the pool's
/// helpers, and returns when all have run. Serial when there is no pool
/// (one thread) or the pool is busy with another caller's job; on rayon's
/// pool inside [`allowed_while`]`(false, …)`.
pub(crate) fn run(tasks: usize, f: &(dyn Fn(usize) + Sync)) {
    if !ALLOWED.with(std::cell::Cell::get) {
        use rayon::prelude::*;
        return (0..tasks).into_par_iter().for_each(f);
    }
    let pool = match pool() {
        Some(p) if tasks > 1 => p,
        _ => return (0..tasks).for_each(f),
    };
    let Ok(_busy) = pool.busy.try_lock() else {
        return (0..tasks).for_each(f);
    };
    let sh = &*pool.shared;
    // A flag left by a job whose caller unwound first is not ours.
    sh.panicked.store(false, Ordering::Relaxed);
    let job = Job { f, tasks };
    sh.job.store(
        (&job as *const Job<'_>).cast_mut().cast::<Job<'static>>(),
        Ordering::Release,
    );
    sh.next.store(0, Ordering::Relaxed);
    let next_epoch = (epoch(sh.state.load(Ordering::Relaxed)) + 1) & 0xFFFF_FFFF;
    let closer = Closer(sh);
    sh.state.store(next_epoch << 32, Ordering::SeqCst);
    if sh.sleepers.load(Ordering::SeqCst) > 0 {
        let _g = sh.lock.lock().unwrap_or_else(|e| e.into_inner());
        sh.wake.notify_all();
    }
    loop {
        let i = sh.next.fetch_add(1, Ordering::Relaxed);
        if i >= tasks {
            break;
        }
        f(i);
    }
    drop(closer);
    if sh.panicked.swap(false, Ordering::AcqRel) {
        panic!("a task on a decode helper thread panicked");
    }
}

/// `f(i, chunk)` for each chunk of `per` elements of `out` (the last one
/// shorter), across the pool as [`run`] does.
pub(crate) fn for_each_chunk_mut<T: Send>(
    out: &mut [T],
    per: usize,
    f: impl Fn(usize, &mut [T]) + Sync,
) {
    let chunks: Vec<Mutex<&mut [T]>> = out.chunks_mut(per.max(1)).map(Mutex::new).collect();
    run(chunks.len(), &|i| {
        // Each chunk is taken by exactly one task: the lock never waits.
        let mut c = chunks[i].lock().unwrap_or_else(|e| e.into_inner());
        f(i, &mut c);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_chunk_is_written_once_whoever_runs_it() {
        for (n, per) in [(0, 4), (1, 4), (37, 4), (1000, 16), (64, 64)] {
            let mut out = vec![0usize; n];
            for_each_chunk_mut(&mut out, per, |i, c| {
                for (j, x) in c.iter_mut().enumerate() {
                    *x += i * per + j + 1;
                }
            });
            assert!(
                out.iter().enumerate().all(|(j, x)| *x == j + 1),
                "{n}/{per}"
            );
        }
    }

    #[test]
    fn callers_on_many_threads_each_get_all_their_tasks() {
        std::thread::scope(|s| {
            for t in 0..4 {
                s.spawn(move || {
                    for round in 0..200 {
                        let sum = AtomicUsize::new(0);
                        run(10 + t, &|i| {
                            sum.fetch_add(i + round, Ordering::Relaxed);
                        });
                        let n = 10 + t;
                        assert_eq!(sum.into_inner(), n * (n - 1) / 2 + n * round);
                    }
                });
            }
        });
    }

    #[test]
    fn a_panicking_task_reaches_the_caller_and_the_pool_still_works() {
        let hit = std::panic::catch_unwind(|| {
            run(64, &|i| {
                if i == 63 {
                    panic!("task {i}");
                }
            })
        });
        assert!(hit.is_err());
        let sum = AtomicUsize::new(0);
        run(8, &|i| {
            sum.fetch_add(i, Ordering::Relaxed);
        });
        assert_eq!(sum.into_inner(), 28);
    }

    #[test]
    fn loops_go_to_rayon_where_spinning_is_not_allowed_and_the_setting_is_restored() {
        let sum = AtomicUsize::new(0);
        allowed_while(false, || {
            assert!(!ALLOWED.with(std::cell::Cell::get));
            run(50, &|i| {
                sum.fetch_add(i, Ordering::Relaxed);
            });
        });
        assert!(ALLOWED.with(std::cell::Cell::get));
        assert_eq!(sum.into_inner(), 1225);
        let unwound = std::panic::catch_unwind(|| allowed_while(false, || panic!("inside")));
        assert!(unwound.is_err() && ALLOWED.with(std::cell::Cell::get));
    }

    #[test]
    fn a_sleeping_helper_wakes_for_the_next_job() {
        let sum = AtomicUsize::new(0);
        run(4, &|i| {
            sum.fetch_add(i, Ordering::Relaxed);
        });
        std::thread::sleep(SPIN_BEFORE_SLEEP * 3);
        run(100, &|i| {
            sum.fetch_add(i, Ordering::Relaxed);
        });
        assert_eq!(sum.into_inner(), 6 + 4950);
    }
}
