//! `TACET_FRAME_STATS=FILE`: measures how responsive the window stays while
//! the worker transcribes and drafts (issue: "≥ 60 frames per second while
//! transcribing and drafting, because the work happens off the UI thread").
//!
//! When the variable is set, the app repaints continuously and records, per
//! phase (idle, or the label of the work in progress), the interval between
//! frames and the time the UI thread spent building each frame; at exit it
//! writes a Markdown table to FILE. It is a measurement hook, off unless
//! asked for, and it records timings and work labels only: no text a screen
//! showed.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

pub struct FrameStats {
    out: PathBuf,
    last_frame: Option<Instant>,
    phases: BTreeMap<String, Phase>,
}

#[derive(Default)]
struct Phase {
    intervals_ms: Vec<f64>,
    build_ms: Vec<f64>,
}

impl FrameStats {
    /// Some when `TACET_FRAME_STATS` names a file to write.
    pub fn from_env() -> Option<Self> {
        let out = std::env::var_os("TACET_FRAME_STATS")?;
        Some(Self {
            out: PathBuf::from(out),
            last_frame: None,
            phases: BTreeMap::new(),
        })
    }

    /// Call once per frame, around the frame's UI work.
    pub fn frame(&mut self, phase: &str, started: Instant, build: Duration) {
        let p = self.phases.entry(phase.to_string()).or_default();
        if let Some(last) = self.last_frame {
            p.intervals_ms
                .push(started.duration_since(last).as_secs_f64() * 1000.0);
        }
        p.build_ms.push(build.as_secs_f64() * 1000.0);
        self.last_frame = Some(started);
    }

    fn table(&self) -> String {
        let mut out = String::from(
            "| phase | frames | frames per second (mean) | frame interval p50 / p95 / max (ms) | UI work per frame p50 / p95 / max (ms) |\n|---|---|---|---|---|\n",
        );
        for (name, p) in &self.phases {
            let total_s: f64 = p.intervals_ms.iter().sum::<f64>() / 1000.0;
            let fps = if total_s > 0.0 {
                p.intervals_ms.len() as f64 / total_s
            } else {
                0.0
            };
            let (i50, i95, imax) = percentiles(&p.intervals_ms);
            let (b50, b95, bmax) = percentiles(&p.build_ms);
            out.push_str(&format!(
                "| {name} | {} | {fps:.1} | {i50:.1} / {i95:.1} / {imax:.1} | {b50:.2} / {b95:.2} / {bmax:.2} |\n",
                p.build_ms.len()
            ));
        }
        out
    }
}

fn percentiles(values: &[f64]) -> (f64, f64, f64) {
    if values.is_empty() {
        return (0.0, 0.0, 0.0);
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.95), v[v.len() - 1])
}

impl Drop for FrameStats {
    fn drop(&mut self) {
        if let Err(e) = std::fs::write(&self.out, self.table()) {
            eprintln!(
                "warning: could not write the frame statistics to {}: {e}",
                self.out.display()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_one_row_per_phase_with_rates() {
        let mut s = FrameStats {
            out: std::env::temp_dir().join(format!("tacet-frames-{}.md", std::process::id())),
            last_frame: None,
            phases: BTreeMap::new(),
        };
        let t0 = Instant::now();
        for i in 0..11u64 {
            let phase = if i < 6 { "idle" } else { "Transcribing" };
            s.frame(
                phase,
                t0 + Duration::from_millis(10 * i),
                Duration::from_millis(1),
            );
        }
        let table = s.table();
        assert!(table.contains("| idle | 6 | 100.0 |"), "{table}");
        assert!(table.contains("| Transcribing | 5 | 100.0 |"), "{table}");
        let out = s.out.clone();
        drop(s);
        assert!(std::fs::read_to_string(&out).unwrap().contains("idle"));
        std::fs::remove_file(out).unwrap();
    }
}
