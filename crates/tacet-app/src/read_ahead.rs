//! Reading the transcript into the drafter while a visit is recorded, so
//! the draft starts writing as soon as the clinician stops: both front
//! ends (the desktop's recording worker, the CLI's `session record
//! --draft`) run the same two pieces.
//!
//! - [`Snapshots`] sits in the recording's progress callback: it collects
//!   the committed segments and, every [`READ_AHEAD_EVERY`], hands out the
//!   whole committed transcript so far. The front end offers it to a
//!   one-slot channel with `try_send`: a reader still busy with the last
//!   one makes the new one wait for the next interval, and the recording
//!   never waits for the reader.
//! - [`read_ahead`] runs on a thread of its own: it loads the drafter on
//!   the first snapshot (a session that never reaches one loads nothing)
//!   and reads each snapshot into it ([`Drafter::prewarm`]), until the
//!   channel closes or the stop flag is set.
//!
//! What is read stays in the drafter's memory (its KV cache), never on
//! disk, and a draft of that session afterwards is the same draft as
//! without it; a draft of anything else, or a lock, forgets it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};
use tacet_core::ports::Drafter;
use tacet_core::{Segment, Template, Transcript};

/// How often the committed transcript is read ahead into the drafter while
/// recording: often enough that little is left at stop, rarely enough that
/// the reads (a few hundred tokens each) stay a small load beside live
/// transcription on a 2-core laptop.
pub const READ_AHEAD_EVERY: Duration = Duration::from_secs(20);

/// The committed transcript so far, handed out once per interval.
pub struct Snapshots {
    committed: Vec<Segment>,
    last: Instant,
    every: Duration,
}

impl Snapshots {
    /// Snapshots every [`READ_AHEAD_EVERY`], the first one interval after now.
    pub fn new() -> Self {
        Self::every(READ_AHEAD_EVERY)
    }

    /// Snapshots every `every` (tests use a short one).
    pub fn every(every: Duration) -> Self {
        Self {
            committed: Vec::new(),
            last: Instant::now(),
            every,
        }
    }

    /// Takes the segments one progress report committed; returns the whole
    /// committed transcript when new text came and an interval has passed.
    pub fn push(&mut self, committed: &[Segment]) -> Option<Vec<Segment>> {
        self.committed.extend(committed.iter().cloned());
        if committed.is_empty() || self.last.elapsed() < self.every {
            return None;
        }
        self.last = Instant::now();
        Some(self.committed.clone())
    }
}

impl Default for Snapshots {
    fn default() -> Self {
        Self::new()
    }
}

/// Reads each snapshot of committed segments into the drafter (loading it
/// with `load` on the first) until the channel closes or `stop` is set;
/// returns the drafter and whether anything was read. Without a template
/// (an unknown id) nothing is read.
pub fn read_ahead<D: Drafter>(
    mut drafter: Option<D>,
    load: impl FnOnce() -> Option<D>,
    template: Option<&Template>,
    snapshots: Receiver<Vec<Segment>>,
    stop: &AtomicBool,
) -> (Option<D>, bool) {
    let Some(template) = template else {
        return (drafter, false);
    };
    let mut load = Some(load);
    let mut read = false;
    while let Ok(segments) = snapshots.recv() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        if drafter.is_none() {
            // None when no drafting model is installed: nothing to read into.
            drafter = load.take().and_then(|l| l());
        }
        let Some(d) = drafter.as_mut() else { break };
        let so_far = Transcript {
            language: "en".into(),
            segments,
            model_sha256: String::new(),
        };
        read |= d.prewarm(&so_far, template, stop).is_ok();
    }
    (drafter, read)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TemplateLibrary;
    use std::sync::mpsc::sync_channel;

    /// Records how many segments each prewarm saw.
    #[derive(Default)]
    struct Reads(Vec<usize>);

    impl Drafter for Reads {
        fn draft(
            &mut self,
            _: &Transcript,
            _: &Template,
            _: &mut dyn FnMut(tacet_core::ports::DraftProgress<'_>),
            _: &AtomicBool,
        ) -> Result<tacet_core::Draft, tacet_core::ports::EngineError> {
            Err(tacet_core::ports::EngineError("not in this test".into()))
        }
        fn prewarm(
            &mut self,
            t: &Transcript,
            _: &Template,
            _: &AtomicBool,
        ) -> Result<(), tacet_core::ports::EngineError> {
            self.0.push(t.segments.len());
            Ok(())
        }
    }

    fn seg(i: u32) -> Segment {
        Segment {
            id: i,
            start_ms: u64::from(i) * 1000,
            end_ms: u64::from(i) * 1000 + 900,
            speaker: None,
            text: format!("segment {i}"),
            confidence: 1.0,
            unsure: Vec::new(),
        }
    }

    #[test]
    fn read_ahead_reads_each_snapshot_loads_once_and_stops_when_told() {
        let library = TemplateLibrary::built_in().unwrap();
        let template = library.get("soap");
        let stop = AtomicBool::new(false);
        let (tx, rx) = sync_channel(4);
        for n in [1, 3, 6] {
            tx.send((0..n).map(seg).collect()).unwrap();
        }
        drop(tx);
        let mut loads = 0;
        let (d, read) = read_ahead(
            None,
            || {
                loads += 1;
                Some(Reads::default())
            },
            template,
            rx,
            &stop,
        );
        assert!(read);
        assert_eq!(loads, 1);
        assert_eq!(d.unwrap().0, vec![1, 3, 6]);
        // Stopped: the next snapshot is not read; no model: nothing is.
        let (tx, rx) = sync_channel(1);
        tx.send(vec![seg(0)]).unwrap();
        stop.store(true, Ordering::SeqCst);
        let (d, read) = read_ahead(Some(Reads::default()), || None, template, rx, &stop);
        assert!(!read && d.unwrap().0.is_empty());
        let (tx, rx) = sync_channel(1);
        tx.send(vec![seg(0)]).unwrap();
        drop(tx);
        let (d, read) = read_ahead(
            None,
            || None::<Reads>,
            template,
            rx,
            &AtomicBool::new(false),
        );
        assert!(!read && d.is_none());
        // No template: nothing is loaded or read.
        let (_tx, rx) = sync_channel(1);
        let (d, read) = read_ahead(None, || Some(Reads::default()), None, rx, &stop);
        assert!(!read && d.is_none());
    }

    #[test]
    fn snapshots_hold_everything_committed_and_come_once_per_interval() {
        let mut s = Snapshots::every(Duration::ZERO);
        assert_eq!(s.push(&[]), None, "no new text, no snapshot");
        assert_eq!(s.push(&[seg(0), seg(1)]).map(|v| v.len()), Some(2));
        assert_eq!(s.push(&[seg(2)]).map(|v| v.len()), Some(3));
        let mut s = Snapshots::every(Duration::from_secs(3600));
        assert_eq!(
            s.push(&[seg(0)]),
            None,
            "the first comes an interval after start"
        );
        assert_eq!(s.push(&[seg(1)]), None);
        assert_eq!(s.committed.len(), 2);
    }
}
