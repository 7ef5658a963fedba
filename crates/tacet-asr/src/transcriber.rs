//! [`WhisperTranscriber`]: whisper.cpp via whisper-rs behind the core's
//! `Transcriber` port.
//!
//! One `WhisperContext` (the weights) is loaded once; every call makes a
//! fresh decoder state so results do not depend on what was transcribed
//! before (whisper's temperature fallback draws from a per-state RNG seeded
//! at creation). All decoding settings are set explicitly rather than
//! inherited from whisper.cpp's defaults.

use crate::guards::{
    cut_repetition_loop, is_non_speech, is_silent, unsure_word_spans, TokenProb, UNSURE_TOKEN_BELOW,
};
use crate::wer::normalize_words;
use crate::AsrError;
use std::io::Read;
use std::os::raw::c_int;
use std::path::{Path, PathBuf};
use tacet_core::ports::{EngineError, Transcriber};
use tacet_core::{Segment, Speaker, TextSpan, Transcript};
use whisper_rs::{FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters};

/// The first four bytes of a ggml whisper model, read as a little-endian u32
/// ("ggml" in hex; on disk the bytes are `6c 6d 67 67`).
pub const GGML_MAGIC: u32 = 0x6767_6d6c;

/// Samples per millisecond at 16 kHz.
const SAMPLES_PER_MS: usize = 16;

/// whisper.cpp returns no segments for input under one second; shorter
/// audio is padded with silence to this length.
const MIN_INPUT_SAMPLES: usize = 17_600;

/// Most threads accepted (far above any sensible setting).
const MAX_THREADS: usize = 256;

/// A run of identical consecutive segments at least this long is a loop:
/// its first two segments are kept (see [`run_is_loop`]), the rest dropped.
const SEGMENT_LOOP_RUN: usize = 3;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AsrOptions {
    /// CPU threads whisper.cpp may use. Set it to the cores free for ASR:
    /// more threads than free cores collapses whisper.cpp's speed.
    pub threads: usize,
    /// Language the session is locked to, e.g. "en".
    pub language: String,
}

impl Default for AsrOptions {
    /// One thread (safe under contention) and English.
    fn default() -> Self {
        Self {
            threads: 1,
            language: "en".to_string(),
        }
    }
}

/// Bytes of the fixed ggml whisper header: magic + 11 i32 hyper-parameters.
const HEADER_BYTES: usize = 48;

/// Checks that `path` exists, starts with the ggml magic, has plausible
/// hyper-parameters and is at least big enough to hold its token embedding,
/// so a wrong or damaged file is refused here instead of aborting the process
/// inside whisper.cpp. (whisper.cpp accepts a file that ends before its first
/// tensor as an "empty model for testing" and then aborts in the encoder.)
/// It does not prove the rest of the file is sound: that is the model
/// store's job, which verifies the SHA-256 of the whole file.
pub fn check_ggml_file(path: &Path) -> Result<(), AsrError> {
    let unreadable = |source| AsrError::ModelUnreadable {
        path: path.to_path_buf(),
        source,
    };
    let not_ggml = |found_hex: String| AsrError::NotGgml {
        path: path.to_path_buf(),
        found_hex,
    };
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(AsrError::ModelMissing {
                path: path.to_path_buf(),
            })
        }
        Err(e) => return Err(unreadable(e)),
    };
    let meta = file.metadata().map_err(unreadable)?;
    if !meta.is_file() {
        return Err(not_ggml("(not a regular file)".into()));
    }
    let mut head = Vec::with_capacity(HEADER_BYTES);
    file.by_ref()
        .take(HEADER_BYTES as u64)
        .read_to_end(&mut head)
        .map_err(unreadable)?;
    check_ggml_head(&head, meta.len(), path)
}

/// [`check_ggml_file`] for bytes held in memory (the verified bytes the
/// engine is then handed); `path` only names them in errors.
pub fn check_ggml_bytes(bytes: &[u8], path: &Path) -> Result<(), AsrError> {
    let head = bytes.get(..HEADER_BYTES).unwrap_or(bytes);
    check_ggml_head(head, bytes.len() as u64, path)
}

fn check_ggml_head(head: &[u8], len: u64, path: &Path) -> Result<(), AsrError> {
    let not_ggml = |found_hex: String| AsrError::NotGgml {
        path: path.to_path_buf(),
        found_hex,
    };
    let word = |i: usize| -> Option<u32> {
        let b = head.get(i * 4..i * 4 + 4)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    if word(0) != Some(GGML_MAGIC) {
        let found_hex = if head.is_empty() {
            "(empty file)".to_string()
        } else {
            head.iter().take(4).map(|b| format!("{b:02x}")).collect()
        };
        return Err(not_ggml(found_hex));
    }
    let damaged = |problem: String| AsrError::ModelDamaged {
        path: path.to_path_buf(),
        problem,
    };
    if head.len() < HEADER_BYTES {
        return Err(damaged("it ends inside its header".into()));
    }
    // hparams: n_vocab, n_audio_ctx, n_audio_state, n_audio_head,
    // n_audio_layer, n_text_ctx, n_text_state, n_text_head, n_text_layer,
    // n_mels, ftype.
    let hp: Vec<u32> = (1..12).filter_map(word).collect();
    let (n_vocab, n_text_state, n_mels) = (hp[0], hp[6], hp[9]);
    let plausible = hp[..10].iter().all(|&v| (1..=1_000_000).contains(&v))
        && (50_000..=60_000).contains(&n_vocab)
        && (n_mels == 80 || n_mels == 128);
    if !plausible {
        return Err(damaged(
            "its header hyper-parameters are not those of a whisper model".into(),
        ));
    }
    // The token embedding alone takes at least 4 bits per weight.
    let min_size_bytes = HEADER_BYTES as u64 + u64::from(n_vocab) * u64::from(n_text_state) / 2;
    if len < min_size_bytes {
        return Err(damaged(format!(
            "it is {} bytes, too small to hold its weights (at least {min_size_bytes}); it is probably truncated",
            len
        )));
    }
    Ok(())
}

fn check_options(opts: &AsrOptions) -> Result<(), AsrError> {
    if opts.threads == 0 || opts.threads > MAX_THREADS {
        return Err(AsrError::InvalidOptions {
            problem: format!("threads must be 1 to {MAX_THREADS}, got {}", opts.threads),
        });
    }
    if whisper_rs::get_lang_id(&opts.language).is_none() {
        return Err(AsrError::InvalidOptions {
            problem: format!("unknown language code {:?}", opts.language),
        });
    }
    Ok(())
}

fn context_params() -> WhisperContextParameters<'static> {
    let mut params = WhisperContextParameters::default();
    params.use_gpu(false);
    params
}

pub struct WhisperTranscriber {
    ctx: WhisperContext,
    model_path: PathBuf,
    model_sha256: String,
    opts: AsrOptions,
}

impl std::fmt::Debug for WhisperTranscriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WhisperTranscriber")
            .field("model_path", &self.model_path)
            .field("model_sha256", &self.model_sha256)
            .field("opts", &self.opts)
            .finish_non_exhaustive()
    }
}

impl WhisperTranscriber {
    /// Loads a ggml whisper model from a file. `model_sha256` is recorded
    /// in every transcript (the caller has verified it against the file).
    pub fn load(
        model_path: &Path,
        model_sha256: String,
        opts: AsrOptions,
    ) -> Result<Self, AsrError> {
        check_options(&opts)?;
        check_ggml_file(model_path)?;
        // Route whisper.cpp's and ggml's log output into whisper-rs's hooks;
        // with no log backend enabled they go nowhere, so nothing (including
        // any decoded text) reaches stderr.
        whisper_rs::install_logging_hooks();
        let ctx = WhisperContext::new_with_params(model_path, context_params());
        Self::finish_load(ctx, model_path, model_sha256, opts)
    }

    /// Loads a ggml whisper model from bytes in memory: the bytes whose
    /// SHA-256 the caller verified, so nothing is read from disk again
    /// between the check and the engine. `path` only names the model in
    /// messages.
    pub fn load_bytes(
        bytes: &[u8],
        path: &Path,
        model_sha256: String,
        opts: AsrOptions,
    ) -> Result<Self, AsrError> {
        check_options(&opts)?;
        check_ggml_bytes(bytes, path)?;
        whisper_rs::install_logging_hooks();
        let ctx = WhisperContext::new_from_buffer_with_params(bytes, context_params());
        Self::finish_load(ctx, path, model_sha256, opts)
    }

    fn finish_load(
        ctx: Result<WhisperContext, whisper_rs::WhisperError>,
        model_path: &Path,
        model_sha256: String,
        opts: AsrOptions,
    ) -> Result<Self, AsrError> {
        let ctx = ctx.map_err(|e| AsrError::ModelLoad {
            path: model_path.to_path_buf(),
            detail: e.to_string(),
        })?;
        if opts.language != "en" && !ctx.is_multilingual() {
            return Err(AsrError::InvalidOptions {
                problem: format!(
                    "model {} is English-only but language {:?} was asked for",
                    model_path.display(),
                    opts.language
                ),
            });
        }
        Ok(Self {
            ctx,
            model_path: model_path.to_path_buf(),
            model_sha256,
            opts,
        })
    }

    pub fn options(&self) -> &AsrOptions {
        &self.opts
    }

    /// Changes the threads later passes use (1 to the maximum; others are
    /// clamped). Live transcription runs beside capture, sealing and the
    /// window, so it takes fewer threads than a batch pass: whisper.cpp's
    /// worker threads spin at barriers and collapse when oversubscribed.
    pub fn set_threads(&mut self, threads: usize) {
        self.opts.threads = threads.clamp(1, MAX_THREADS);
    }

    /// The model hash recorded in every transcript.
    pub fn model_sha256(&self) -> &str {
        &self.model_sha256
    }

    /// Transcribes 16 kHz mono samples, labelling every segment with
    /// `speaker` (for per-channel transcription of two-microphone audio).
    pub fn transcribe_channel(
        &mut self,
        samples_16k_mono: &[f32],
        speaker: Option<Speaker>,
    ) -> Result<Transcript, AsrError> {
        self.transcribe_window(samples_16k_mono, speaker, false)
    }

    /// Like [`Self::transcribe_channel`]; with `shrink_encoder` and audio
    /// shorter than 30 s, whisper.cpp's encoder runs over only the frames
    /// the audio covers (`audio_ctx` = ceil(seconds × 50) plus one second of
    /// margin) instead of a full 30 s window, which makes short windows
    /// proportionally cheaper. Used by the streaming transcriber.
    pub fn transcribe_window(
        &mut self,
        samples_16k_mono: &[f32],
        speaker: Option<Speaker>,
        shrink_encoder: bool,
    ) -> Result<Transcript, AsrError> {
        if let Some(index) = samples_16k_mono.iter().position(|s| !s.is_finite()) {
            return Err(AsrError::NonFiniteInput { index });
        }
        let mut transcript = Transcript {
            language: self.opts.language.clone(),
            segments: Vec::new(),
            model_sha256: self.model_sha256.clone(),
        };
        // whisper hallucinates on silence: do not ask it.
        if is_silent(samples_16k_mono) {
            return Ok(transcript);
        }
        let audio_ms = (samples_16k_mono.len() / SAMPLES_PER_MS) as u64;
        let padded;
        let input = if samples_16k_mono.len() < MIN_INPUT_SAMPLES {
            let mut v = samples_16k_mono.to_vec();
            v.resize(MIN_INPUT_SAMPLES, 0.0);
            padded = v;
            &padded[..]
        } else {
            samples_16k_mono
        };

        let engine = |e: whisper_rs::WhisperError| AsrError::Engine {
            detail: e.to_string(),
        };
        let mut state = self.ctx.create_state().map_err(engine)?;
        let mut params = FullParams::new(SamplingStrategy::Greedy { best_of: 1 });
        params.set_n_threads(self.opts.threads as c_int);
        params.set_language(Some(&self.opts.language));
        params.set_detect_language(false);
        params.set_translate(false);
        params.set_no_context(true);
        params.set_no_timestamps(false);
        params.set_single_segment(false);
        params.set_token_timestamps(false);
        params.set_suppress_blank(true);
        params.set_suppress_nst(true);
        params.set_temperature(0.0);
        if shrink_encoder {
            let frames = audio_ctx_frames(input.len());
            if frames < FULL_AUDIO_CTX {
                params.set_audio_ctx(frames);
            }
        }
        // Never let whisper.cpp print: these would write decoded text to
        // stdout/stderr.
        params.set_print_special(false);
        params.set_print_progress(false);
        params.set_print_realtime(false);
        params.set_print_timestamps(false);
        params.set_debug_mode(false);
        state.full(params, input).map_err(engine)?;

        let eot = self.ctx.token_eot();
        let mut raw: Vec<(u64, u64, String, f32, Vec<TextSpan>)> = Vec::new();
        for i in 0..state.full_n_segments() {
            let Some(seg) = state.get_segment(i) else {
                continue;
            };
            let text = seg.to_str_lossy().map_err(engine)?.trim().to_string();
            if is_non_speech(&text) {
                continue;
            }
            let text = cut_repetition_loop(&text).unwrap_or(text);
            let (mut sum, mut n) = (0.0f32, 0u32);
            let mut tokens = Vec::new();
            for t in 0..seg.n_tokens() {
                if let Some(tok) = seg.get_token(t) {
                    // Special and timestamp tokens have ids from EOT up.
                    if tok.token_id() < eot {
                        let probability = tok.token_probability();
                        sum += probability;
                        n += 1;
                        // A token without bytes marks nothing (and the
                        // spans are dropped if the words then disagree).
                        if let Ok(bytes) = tok.to_bytes() {
                            tokens.push(TokenProb { bytes, probability });
                        }
                    }
                }
            }
            let unsure = unsure_word_spans(&tokens, &text, UNSURE_TOKEN_BELOW);
            let confidence = if n == 0 {
                1.0
            } else {
                (sum / n as f32).clamp(0.0, 1.0)
            };
            let start_ms = (seg.start_timestamp().max(0) as u64 * 10).min(audio_ms);
            let end_ms = (seg.end_timestamp().max(0) as u64 * 10).clamp(start_ms, audio_ms);
            raw.push((start_ms, end_ms, text, confidence, unsure));
        }

        let spans: Vec<(u64, u64, &str)> = raw
            .iter()
            .map(|(start_ms, end_ms, text, _, _)| (*start_ms, *end_ms, text.as_str()))
            .collect();
        let keep = segments_to_keep(&spans);
        for ((start_ms, end_ms, text, confidence, unsure), keep) in raw.into_iter().zip(keep) {
            if !keep {
                continue;
            }
            transcript.segments.push(Segment {
                id: transcript.segments.len() as u32,
                start_ms,
                end_ms,
                speaker,
                text,
                confidence,
                unsure,
            });
        }
        Ok(transcript)
    }
}

/// whisper's encoder frames for a full 30 s window.
const FULL_AUDIO_CTX: c_int = 1500;

/// Encoder frames (50 per second) covering `samples` at 16 kHz, plus one
/// second of margin so the last words are not at the very edge.
pub fn audio_ctx_frames(samples: usize) -> c_int {
    let frames = (samples as u64 * 50).div_ceil(16_000) + 50;
    frames.min(FULL_AUDIO_CTX as u64) as c_int
}

/// Transcribes each channel on its own and merges the segments by start
/// time: one channel gives unlabelled segments, two give
/// [`Speaker::Channel0`] / [`Speaker::Channel1`] (clinician and patient
/// microphones). Channels are 16 kHz mono sample vectors.
pub fn transcribe_channels(
    asr: &mut WhisperTranscriber,
    channels: &[Vec<f32>],
) -> Result<Transcript, AsrError> {
    let speakers: &[Option<Speaker>] = match channels.len() {
        1 => &[None],
        2 => &[Some(Speaker::Channel0), Some(Speaker::Channel1)],
        n => {
            return Err(AsrError::InvalidOptions {
                problem: format!("{n} channels given; speaker labels need 1 or 2 channels"),
            })
        }
    };
    let mut merged = Transcript {
        language: asr.opts.language.clone(),
        segments: Vec::new(),
        model_sha256: asr.model_sha256.clone(),
    };
    for (samples, speaker) in channels.iter().zip(speakers) {
        let t = asr.transcribe_channel(samples, *speaker)?;
        merged.segments.extend(t.segments);
    }
    merge_by_time(&mut merged.segments);
    Ok(merged)
}

/// Orders segments by start (then end, then channel) and renumbers them.
pub fn merge_by_time(segments: &mut [Segment]) {
    segments.sort_by_key(|s| (s.start_ms, s.end_ms, s.speaker.map_or(0, |sp| 1 + sp as u8)));
    for (i, s) in segments.iter_mut().enumerate() {
        s.id = i as u32;
    }
}

/// Identical consecutive segments: the 2nd is kept (people do repeat
/// themselves once), from the 3rd on they are dropped.
fn run_is_loop(run: usize) -> bool {
    run >= SEGMENT_LOOP_RUN
}

/// Fewer milliseconds than this per word and a segment cannot have been
/// said (500 words a minute; fast speech is under 250).
const MIN_MS_PER_WORD: u64 = 120;

/// Which of one window's segments (start, end, text) to keep: a run of
/// identical segments is a decoding loop (the first two are kept), and a
/// segment repeating the one before it in less time than its words take to
/// say is whisper decoding its padding: when the audio ends right after a
/// sentence, whisper can emit that sentence again in the last 100 ms
/// (seen: "…shortness of breath when walking." at 300–5300 ms, then again
/// at 5300–5418 ms).
fn segments_to_keep(segments: &[(u64, u64, &str)]) -> Vec<bool> {
    let mut run = 0usize;
    let mut prev_norm: Vec<String> = Vec::new();
    segments
        .iter()
        .map(|(start_ms, end_ms, text)| {
            let norm = normalize_words(text);
            if norm == prev_norm {
                run += 1;
            } else {
                run = 1;
                prev_norm = norm;
            }
            let too_fast =
                end_ms.saturating_sub(*start_ms) < prev_norm.len() as u64 * MIN_MS_PER_WORD;
            !(run_is_loop(run) || (run >= 2 && too_fast))
        })
        .collect()
}

impl Transcriber for WhisperTranscriber {
    fn transcribe(&mut self, samples_16k_mono: &[f32]) -> Result<Transcript, EngineError> {
        self.transcribe_channel(samples_16k_mono, None)
            .map_err(EngineError::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SENTENCE: &str = "The patient reports chest pain and shortness of breath when walking.";

    #[test]
    fn a_repeat_too_short_to_say_is_padding_and_dropped() {
        // What whisper gave for a window that ended 118 ms after the sentence.
        let segs = [(300, 5_300, SENTENCE), (5_300, 5_418, SENTENCE)];
        assert_eq!(segments_to_keep(&segs), [true, false]);
    }

    #[test]
    fn a_repeat_said_again_is_kept_once_and_a_loop_cut() {
        let segs = [
            (0, 2_000, "Take it twice a day."),
            (2_000, 4_000, "take it twice a day"),
            (4_000, 6_000, "Take it twice a day."),
            (6_000, 6_100, "Yes."),
            (6_100, 6_200, "No."),
        ];
        // The 2nd copy was said (two seconds for five words); the 3rd is a
        // loop. Short segments that are not repeats stay, however short.
        assert_eq!(segments_to_keep(&segs), [true, true, false, true, true]);
    }

    #[test]
    fn fail_a_short_repeat_is_not_taken_for_speech() {
        // A one-word repeat in under 120 ms, and a second loop after a break.
        let segs = [
            (0, 500, "Okay."),
            (500, 560, "Okay."),
            (600, 2_000, "Chest pain."),
            (2_000, 3_000, "Chest pain."),
            (3_000, 3_050, "Chest pain."),
        ];
        assert_eq!(segments_to_keep(&segs), [true, false, true, true, false]);
    }
}
