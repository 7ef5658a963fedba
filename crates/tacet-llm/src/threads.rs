//! How many CPU threads candle uses.
//!
//! candle 0.11.1 has no API for its thread count. Its CPU kernels run on two
//! process-wide pools created on first use: a spinning barrier pool sized from
//! `CANDLE_NUM_THREADS` (else `RAYON_NUM_THREADS`, else the physical core
//! count) for the quantized matmuls, and a rayon pool sized from
//! `RAYON_NUM_THREADS` for the rest. So we set both variables, once, before the
//! first model is loaded, unless the user already set them (theirs win). After
//! the pools exist the count cannot change for the life of the process; the
//! drafter records the count in effect.
//!
//! Why it matters: the pools spin at barriers, and with another busy process
//! on a 2-core machine a 2-thread decode was measured collapsing to a few
//! tokens/s while 1 thread held its speed. The app runs capture,
//! transcription and drafting on the same cores, so it budgets threads
//! explicitly instead of letting candle take every core.

use std::sync::Once;

static CONFIGURE: Once = Once::new();

/// Sets candle's thread count for this process (see the module docs) and
/// returns the count in effect. `threads == 0` leaves candle's default.
pub fn configure_threads(threads: usize) -> usize {
    CONFIGURE.call_once(|| {
        if threads == 0 {
            return;
        }
        let n = threads.to_string();
        for var in ["CANDLE_NUM_THREADS", "RAYON_NUM_THREADS"] {
            if std::env::var_os(var).is_none() {
                // Edition 2021: `set_var` is safe to call. It runs once, at
                // first model load, before candle starts its worker threads.
                std::env::set_var(var, &n);
            }
        }
    });
    effective_threads()
}

/// The thread count candle's quantized kernels use (read the same way candle
/// reads it).
pub fn effective_threads() -> usize {
    ["CANDLE_NUM_THREADS", "RAYON_NUM_THREADS"]
        .iter()
        .find_map(|v| {
            std::env::var(v)
                .ok()
                .and_then(|s| s.parse::<usize>().ok())
                .filter(|n| *n > 0)
        })
        .unwrap_or_else(candle_core::utils::get_num_threads)
}
