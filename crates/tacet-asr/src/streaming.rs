//! [`StreamingTranscriber`]: transcription while the session records, so
//! that stopping leaves almost nothing to do.
//!
//! Design decisions:
//! - **A growing window, re-run every `step_ms` of new audio.** The window
//!   starts where the committed text ends and grows with the recording up to
//!   `max_window_ms`. whisper sees each word in several passes, with context
//!   on both sides, instead of once at a chunk edge.
//! - **Committed versus tentative.** A segment is committed when two
//!   consecutive passes produced the same words for it (same position in the
//!   window, start within a second) *and* it ends at least `tail_guard_ms`
//!   before the end of the audio (the words at the edge may still change).
//!   Committed segments never change; the window is then cut where the next
//!   segment starts, so committed audio is not transcribed again. Everything
//!   else is tentative: shown to the clinician greyed out, replaced at the
//!   next pass. When a window reaches its cap without agreement, all of its
//!   segments but the last are committed anyway, so memory and the cost of a
//!   pass stay bounded whatever the session's length. A full window for which
//!   whisper gives no words is dropped only if the pass before gave none
//!   either (noise); otherwise that pass's reading is committed. And when
//!   whisper's first segment starts two seconds or more into the window, the
//!   voiced audio before it is transcribed on its own first: no stretch of
//!   speech is cut away unheard.
//! - **Silence costs nothing.** An energy gate (the same 100 ms RMS gate as
//!   the batch guards) trims silence from the start of the window and skips
//!   the pass when the window holds no speech; whisper never sees silence.
//! - **Short windows pay for short encoders.** whisper.cpp encodes 30 s
//!   whatever the input, unless `audio_ctx` is reduced; with
//!   `shrink_encoder` a 6 s window costs about a fifth of a full pass.
//! - **`finish()` only transcribes the uncommitted tail** (at most
//!   `max_window_ms`), or nothing at all when the last pass already covered
//!   all audio, so the final transcript is ready in well under a second.
//! - Timestamps are session positions (milliseconds of recorded audio).

use crate::guards::{GATE_FRAME_SAMPLES, SILENCE_RMS};
use crate::transcriber::merge_by_time;
use crate::wer::normalize_words;
use crate::{AsrError, WhisperTranscriber};
use tacet_core::{Segment, Speaker, Transcript};

const SAMPLES_PER_MS: u64 = 16;

/// Speech kept before the first voiced frame when silence is trimmed.
const LEAD_IN_SAMPLES: usize = 3_200;

/// Two passes agree on a segment only if its starts are this close.
const AGREE_START_MS: u64 = 1_000;

/// A window whose first segment starts this far into it has a hole: whisper
/// began its text late (it can, when a window opens mid-sentence), and the
/// voiced audio before that is transcribed on its own before committing.
const HOLE_MS: u64 = 2_000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamingConfig {
    /// New audio between passes.
    pub step_ms: u32,
    /// Longest window transcribed in one pass.
    pub max_window_ms: u32,
    /// A segment must end this long before the audio's end to be committed.
    pub tail_guard_ms: u32,
    /// Reduce whisper.cpp's encoder to the window's length (`audio_ctx`).
    pub shrink_encoder: bool,
    /// Label for every segment (per-channel streaming).
    pub speaker: Option<Speaker>,
}

impl Default for StreamingConfig {
    fn default() -> Self {
        Self {
            step_ms: 2_000,
            max_window_ms: 15_000,
            tail_guard_ms: 1_000,
            shrink_encoder: true,
            speaker: None,
        }
    }
}

/// What one pass changed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StreamUpdate {
    /// Segments committed by this pass (final; ids continue the transcript).
    pub committed: Vec<Segment>,
    /// The current tentative segments (replace the previous ones).
    pub tentative: Vec<Segment>,
    /// Session length when the pass ran, in ms.
    pub audio_ms: u64,
    /// Whether whisper ran (false when the window held only silence).
    pub ran: bool,
}

pub struct StreamingTranscriber {
    asr: WhisperTranscriber,
    cfg: StreamingConfig,
    /// Audio from `window_start` to now.
    buf: Vec<f32>,
    /// Session sample index of `buf[0]`.
    window_start: u64,
    /// Samples received so far.
    total: u64,
    /// `total` when the last pass (or skip) happened.
    last_pass_at: u64,
    prev: Vec<Segment>,
    committed: Vec<Segment>,
    passes: u64,
    skipped: u64,
}

impl std::fmt::Debug for StreamingTranscriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamingTranscriber")
            .field("cfg", &self.cfg)
            .field("total_samples", &self.total)
            .field("committed_segments", &self.committed.len())
            .finish_non_exhaustive()
    }
}

fn frame_is_voiced(frame: &[f32]) -> bool {
    let sum: f64 = frame.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    ((sum / frame.len().max(1) as f64).sqrt() as f32) >= SILENCE_RMS
}

impl StreamingTranscriber {
    pub fn new(asr: WhisperTranscriber, cfg: StreamingConfig) -> Result<Self, AsrError> {
        if cfg.step_ms < 500 || cfg.max_window_ms > 30_000 || cfg.max_window_ms < 2 * cfg.step_ms {
            return Err(AsrError::InvalidOptions {
                problem: format!(
                    "streaming step {} ms / window {} ms: need step ≥ 500 ms and 2 × step ≤ window ≤ 30000 ms",
                    cfg.step_ms, cfg.max_window_ms
                ),
            });
        }
        Ok(Self {
            asr,
            cfg,
            buf: Vec::new(),
            window_start: 0,
            total: 0,
            last_pass_at: 0,
            prev: Vec::new(),
            committed: Vec::new(),
            passes: 0,
            skipped: 0,
        })
    }

    /// Appends 16 kHz mono samples without transcribing.
    pub fn append(&mut self, samples_16k_mono: &[f32]) -> Result<(), AsrError> {
        if let Some(index) = samples_16k_mono.iter().position(|s| !s.is_finite()) {
            return Err(AsrError::NonFiniteInput { index });
        }
        self.buf.extend_from_slice(samples_16k_mono);
        self.total += samples_16k_mono.len() as u64;
        Ok(())
    }

    /// Runs a pass if at least `step_ms` of audio arrived since the last.
    pub fn update(&mut self) -> Result<Option<StreamUpdate>, AsrError> {
        if self.total - self.last_pass_at < u64::from(self.cfg.step_ms) * SAMPLES_PER_MS {
            return Ok(None);
        }
        self.pass().map(Some)
    }

    /// [`Self::append`] then [`Self::update`].
    pub fn push(&mut self, samples_16k_mono: &[f32]) -> Result<Option<StreamUpdate>, AsrError> {
        self.append(samples_16k_mono)?;
        self.update()
    }

    pub fn committed(&self) -> &[Segment] {
        &self.committed
    }

    pub fn tentative(&self) -> &[Segment] {
        &self.prev
    }

    /// Passes run and passes skipped because the window was silent.
    pub fn pass_counts(&self) -> (u64, u64) {
        (self.passes, self.skipped)
    }

    pub fn audio_ms(&self) -> u64 {
        self.total / SAMPLES_PER_MS
    }

    /// Gives the engine back (after [`Self::finish`]).
    pub fn into_inner(self) -> WhisperTranscriber {
        self.asr
    }

    /// The engine itself, for a batch pass over sealed audio when the live
    /// pass failed (`tacet_app::recording::finish_live`).
    pub fn inner_mut(&mut self) -> &mut WhisperTranscriber {
        &mut self.asr
    }

    /// Drops leading silence from the window; true if speech remains.
    fn trim_silence(&mut self) -> bool {
        let first_voiced = self
            .buf
            .chunks(GATE_FRAME_SAMPLES)
            .position(frame_is_voiced);
        let cut = match first_voiced {
            Some(frame) => (frame * GATE_FRAME_SAMPLES).saturating_sub(LEAD_IN_SAMPLES),
            None => self.buf.len().saturating_sub(LEAD_IN_SAMPLES),
        };
        if cut > 0 {
            self.buf.drain(..cut);
            self.window_start += cut as u64;
        }
        first_voiced.is_some()
    }

    fn run_window(&mut self) -> Result<Vec<Segment>, AsrError> {
        self.run_first(self.buf.len())
    }

    /// Transcribes the window's first `samples` samples.
    fn run_first(&mut self, samples: usize) -> Result<Vec<Segment>, AsrError> {
        let offset_ms = self.window_start / SAMPLES_PER_MS;
        let audio = &self.buf[..samples.min(self.buf.len())];
        let t = self
            .asr
            .transcribe_window(audio, self.cfg.speaker, self.cfg.shrink_encoder)?;
        Ok(t.segments
            .into_iter()
            .map(|mut s| {
                s.start_ms += offset_ms;
                s.end_ms += offset_ms;
                s
            })
            .collect())
    }

    /// The segments of the voiced audio between the window's start and
    /// `first` (the first segment whisper gave for the window) when that is
    /// a hole of at least [`HOLE_MS`]; nothing otherwise. Without this, the
    /// cut after committing `first` would drop that audio unheard.
    fn fill_hole(&mut self, first: Option<&Segment>) -> Result<Vec<Segment>, AsrError> {
        let Some(first) = first else {
            return Ok(Vec::new());
        };
        let window_start_ms = self.window_start / SAMPLES_PER_MS;
        if first.start_ms < window_start_ms + HOLE_MS {
            return Ok(Vec::new());
        }
        let samples = ((first.start_ms - window_start_ms) * SAMPLES_PER_MS) as usize;
        let voiced = self.buf[..samples.min(self.buf.len())]
            .chunks(GATE_FRAME_SAMPLES)
            .any(frame_is_voiced);
        if !voiced {
            return Ok(Vec::new());
        }
        self.passes += 1;
        self.run_first(samples)
    }

    fn commit(&mut self, segs: &[Segment]) -> Vec<Segment> {
        let mut out = Vec::with_capacity(segs.len());
        for s in segs {
            let mut s = s.clone();
            s.id = self.committed.len() as u32;
            self.committed.push(s.clone());
            out.push(s);
        }
        out
    }

    /// Cuts the window at session position `ms` (never backwards).
    fn cut_at_ms(&mut self, ms: u64) {
        let at = (ms * SAMPLES_PER_MS).clamp(self.window_start, self.total);
        let n = (at - self.window_start) as usize;
        self.buf.drain(..n.min(self.buf.len()));
        self.window_start = at;
    }

    fn pass(&mut self) -> Result<StreamUpdate, AsrError> {
        self.last_pass_at = self.total;
        let audio_ms = self.total / SAMPLES_PER_MS;
        if !self.trim_silence() {
            // Only silence since the committed text: nothing to say.
            self.skipped += 1;
            self.prev.clear();
            return Ok(StreamUpdate {
                audio_ms,
                ..StreamUpdate::default()
            });
        }
        self.passes += 1;
        let cur = self.run_window()?;
        let guard_end_ms = audio_ms.saturating_sub(u64::from(self.cfg.tail_guard_ms));
        let agreed = cur
            .iter()
            .zip(&self.prev)
            .take_while(|(a, b)| {
                a.start_ms.abs_diff(b.start_ms) <= AGREE_START_MS
                    && normalize_words(&a.text) == normalize_words(&b.text)
            })
            .count();
        let mut n_commit = cur[..agreed]
            .iter()
            .take_while(|s| s.end_ms <= guard_end_ms)
            .count();
        let window_ms = self.buf.len() as u64 / SAMPLES_PER_MS;
        let full = window_ms + u64::from(self.cfg.step_ms) > u64::from(self.cfg.max_window_ms);
        if full && n_commit == 0 {
            // The next pass would exceed the cap: commit all but the last.
            n_commit = cur.len().saturating_sub(1);
        }
        let mut to_commit = cur[..n_commit].to_vec();
        let rest = cur[n_commit..].to_vec();
        if full && cur.is_empty() && !self.prev.is_empty() {
            // No words from a full window the previous pass heard words in
            // (whisper on a shrunk encoder is not stable on every window):
            // keep the previous reading rather than let the audio go.
            to_commit = std::mem::take(&mut self.prev);
        }
        let hole = self.fill_hole(to_commit.first())?;
        let mut committed = self.commit(&hole);
        committed.extend(self.commit(&to_commit));
        if let Some(last) = committed.last() {
            // Cut where the next segment starts (or the committed one ends).
            let cut = rest
                .first()
                .map_or(last.end_ms, |r| r.start_ms.min(last.end_ms));
            self.cut_at_ms(cut);
        } else if full && rest.is_empty() {
            // Sound but no words for a whole window, in this pass and the
            // one before (noise): let it go.
            self.cut_at_ms(guard_end_ms);
        }
        self.prev = rest;
        Ok(StreamUpdate {
            committed,
            tentative: self.prev.clone(),
            audio_ms,
            ran: true,
        })
    }

    /// Transcribes what is not committed yet and returns the whole
    /// transcript. When the last pass already saw all audio its segments are
    /// taken as they are. Call once, after the last chunk.
    pub fn finish(&mut self) -> Result<Transcript, AsrError> {
        let tail = if self.total == self.last_pass_at {
            std::mem::take(&mut self.prev)
        } else if self.trim_silence() {
            self.passes += 1;
            self.run_window()?
        } else {
            Vec::new()
        };
        let hole = self.fill_hole(tail.first())?;
        self.commit(&hole);
        self.commit(&tail);
        self.buf.clear();
        self.window_start = self.total;
        self.last_pass_at = self.total;
        self.prev.clear();
        let mut segments = self.committed.clone();
        merge_by_time(&mut segments);
        Ok(Transcript {
            language: self.asr.options().language.clone(),
            segments,
            model_sha256: self.asr.model_sha256().to_string(),
        })
    }
}

/// The core's live port: the application layer drives streaming
/// transcription without naming whisper.
impl tacet_core::ports::LiveTranscriber for StreamingTranscriber {
    fn push(
        &mut self,
        samples_16k: &[f32],
    ) -> Result<tacet_core::ports::LiveUpdate, tacet_core::ports::EngineError> {
        let update = StreamingTranscriber::push(self, samples_16k)
            .map_err(|e| tacet_core::ports::EngineError(e.to_string()))?;
        Ok(match update {
            Some(u) => tacet_core::ports::LiveUpdate {
                committed: u.committed,
                tentative: u.tentative,
            },
            // No pass ran: nothing new is committed; the tentative text stands.
            None => tacet_core::ports::LiveUpdate {
                committed: Vec::new(),
                tentative: self.tentative().to_vec(),
            },
        })
    }

    fn finish(&mut self) -> Result<Transcript, tacet_core::ports::EngineError> {
        StreamingTranscriber::finish(self)
            .map_err(|e| tacet_core::ports::EngineError(e.to_string()))
    }
}
