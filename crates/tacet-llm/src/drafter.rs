//! The drafter: transcript + template to a note, section by section.
//!
//! Small local models do not reliably follow a requested layout, and candle
//! has no grammar-constrained sampling, so the layout is not left to the
//! model. One chat prompt carries the instructions, the transcript and the
//! section list; then, inside the assistant's turn, we write each section's
//! header ourselves (`HEADING:\n`) and let the model write only the body. A
//! body ends at an end-of-turn token, a blank line, a line that looks like a
//! header (the model moving on by itself), or the token budget. The next
//! header is then fed on the same KV cache, so the prompt is processed once.
//! The draft therefore always has exactly the template's sections, in order.
//!
//! Text that looks like a header is held back from the progress stream until
//! it is clearly not one, so the stream shows exactly the text the draft ends
//! up with. Whatever the model wrote is fed back as it was (the KV cache
//! cannot be rewound); the header forced next is chosen to fit after it.
//!
//! When the transcript does not fit the context (after leaving room for every
//! section), the note is drafted one section at a time instead: each section
//! gets a prompt of its own holding the opening of the visit and the
//! segments most relevant to that section (see `spans`), in their order, with
//! a marker line wherever segments were left out. The plan for vital signs
//! differs from the plan for the plan. Each section's prompt is read afresh
//! (a prefill per section: slower, and only for sessions that need it). What
//! each section left out is recorded in the provenance
//! ([`tacet_core::SectionInput`]), and the characters no section saw in
//! `omitted_transcript_chars`; nothing is dropped silently.
//!
//! A prompt is read starting after the longest prefix the KV cache already
//! holds (our llama and gemma3 code can overwrite the cache from any
//! position; candle's models are read afresh). The prompt ends with the
//! transcript, so [`Drafter::prewarm`] can read a visit's transcript while
//! it is still being recorded and the draft at stop reads only the last
//! lines: measured on a 16-minute visit (3,952 prompt tokens), the draft
//! took 2.8 s after a read-ahead of all but the last 5 lines, against
//! 22.8 s cold, and was the same text. A draft ends by zeroing and
//! dropping the cache and the token ids (nothing of the transcript stays in
//! memory between drafts); a read-ahead stays until the next draft or
//! [`Drafter::forget`].

use crate::chat::ChatTemplate;
use crate::device::LlmDevice;
use crate::error::LlmError;
use crate::model::{self, ModelWeights};
use crate::spans;
use crate::threads;
use crate::tokenizer::{stop_token_ids, tokenizer_from_gguf};
use candle_transformers::generation::LogitsProcessor;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;
use tacet_core::draft::{Draft, DraftSection, Provenance, SamplingParams, SectionInput};
use tacet_core::loops::{self, DRAFT_LOOPS};
use tacet_core::ports::{DraftProgress, Drafter, EngineError};
use tacet_core::template::{Template, TemplateSection};
use tacet_core::transcript::{Segment, Transcript};
use tokenizers::Tokenizer;

/// Tokens per forward pass while reading the prompt: bounds the attention
/// score matrix (heads × chunk × context floats) to tens of MB.
const PREFILL_CHUNK_TOKENS: usize = 512;
/// Slack for tokenization differences between the budget estimate and the
/// tokens actually fed (a header's leading newlines, a carried token).
const SECTION_SLACK_TOKENS: usize = 4;

/// The model's identity, recorded in every draft's provenance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelInfo {
    pub id: String,
    /// SHA-256 (hex) of the GGUF file, as verified by whoever fetched it.
    pub sha256: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LlmOptions {
    /// CPU threads for candle; process-wide and fixed at the first load
    /// (see [`crate::threads`]). 0 keeps candle's default (all physical cores).
    pub threads: usize,
    pub sampling: SamplingParams,
    /// Convert tensors in formats the model code has no fast kernel for to
    /// Q8_0 at load: Q5_0/Q5_1 always, Q4_1 for the families that run on
    /// candle's model code (≈ 6× faster prefill there, a second or two
    /// more to load).
    pub requantize_to_q8_0: bool,
    /// With `requantize_to_q8_0`, convert Q4_1 too where our own kernels
    /// would run it as stored (the llama family). Off in the app: the
    /// 4-bit weights are read from memory in decode at two thirds the
    /// bytes; on for benchmarks and for tests of the conversion itself.
    pub requantize_all_to_q8_0: bool,
    /// Use at most this many positions, below what the file and the model
    /// code allow (the KV cache grows with what is used). `None`: no cap.
    pub max_context_tokens: Option<usize>,
    /// Where the model runs (CPU unless asked; see [`LlmDevice`]).
    pub device: LlmDevice,
    /// Run candle's ops alone, as every non-CPU device does, instead of our
    /// CPU kernels: slower on the CPU; for tests that hold the GPU's code
    /// to llama.cpp's logits on a machine without a GPU.
    pub portable_ops: bool,
}

impl Default for LlmOptions {
    fn default() -> Self {
        Self {
            threads: 1,
            sampling: SamplingParams::default(),
            requantize_to_q8_0: true,
            requantize_all_to_q8_0: false,
            max_context_tokens: None,
            device: LlmDevice::Cpu,
            portable_ops: false,
        }
    }
}

/// What loading cost and found.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadReport {
    pub load_ms: u64,
    pub architecture: String,
    pub context_length: usize,
    pub requantized_tensors: usize,
    pub threads: usize,
    pub device: LlmDevice,
}

/// Prefill and decode speed measured by [`GgufDrafter::speed_probe`].
#[derive(Clone, Debug, PartialEq)]
pub struct SpeedReport {
    pub prefill_tokens: usize,
    pub prefill_ms: f64,
    pub decode_tokens: usize,
    pub decode_ms: f64,
}

impl SpeedReport {
    pub fn prefill_tokens_per_s(&self) -> f64 {
        self.prefill_tokens as f64 * 1000.0 / self.prefill_ms.max(1e-9)
    }
    pub fn decode_tokens_per_s(&self) -> f64 {
        self.decode_tokens as f64 * 1000.0 / self.decode_ms.max(1e-9)
    }
}

/// A GGUF language model that drafts notes.
pub struct GgufDrafter {
    info: ModelInfo,
    opts: LlmOptions,
    weights: ModelWeights,
    tokenizer: Tokenizer,
    chat: ChatTemplate,
    stop_ids: Vec<u32>,
    /// BOS id to put first when the model wants one.
    bos_id: Option<u32>,
    report: LoadReport,
    /// The tokens whose keys and values fill the cache's first positions
    /// (where the model rewinds, else empty): a prompt that starts with
    /// them reads only the rest.
    cached: Vec<u32>,
    /// Tokens of the last prefill taken from the cache instead of read.
    reused_tokens: usize,
}

impl std::fmt::Debug for GgufDrafter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GgufDrafter")
            .field("info", &self.info)
            .field("report", &self.report)
            .finish_non_exhaustive()
    }
}

impl GgufDrafter {
    /// Loads a GGUF model from a file: tokenizer, chat template and weights.
    pub fn load(path: &Path, info: ModelInfo, opts: LlmOptions) -> Result<Self, LlmError> {
        let started = Instant::now();
        let (content, mut file) = model::read_content(path)?;
        Self::load_from(content, &mut file, path, info, opts, started)
    }

    /// Loads a GGUF model from bytes in memory: the bytes whose SHA-256 the
    /// caller verified, so nothing is read from disk again between the
    /// check and the engine. `path` only names the model in messages.
    pub fn load_bytes(
        bytes: &[u8],
        path: &Path,
        info: ModelInfo,
        opts: LlmOptions,
    ) -> Result<Self, LlmError> {
        let started = Instant::now();
        let mut reader = std::io::Cursor::new(bytes);
        let content = model::read_content_from(&mut reader, path)?;
        Self::load_from(content, &mut reader, path, info, opts, started)
    }

    fn load_from<R: std::io::Read + std::io::Seek>(
        content: candle_core::quantized::gguf_file::Content,
        file: &mut R,
        path: &Path,
        info: ModelInfo,
        opts: LlmOptions,
        started: Instant,
    ) -> Result<Self, LlmError> {
        let threads = threads::configure_threads(opts.threads);
        let tokenizer = tokenizer_from_gguf(&content)?;
        let chat = ChatTemplate::from_gguf(&content)?;
        let stop_ids = stop_token_ids(&content, &tokenizer)?;
        let add_bos =
            crate::meta::opt_bool(&content, "tokenizer.ggml.add_bos_token")?.unwrap_or(false);
        let bos_id = if add_bos {
            crate::meta::opt_u32(&content, "tokenizer.ggml.bos_token_id")?
        } else {
            None
        };
        let loaded = model::load_weights(
            path,
            &content,
            file,
            opts.requantize_to_q8_0,
            opts.requantize_all_to_q8_0,
            opts.device,
            opts.portable_ops,
        )?;
        let report = LoadReport {
            load_ms: started.elapsed().as_millis() as u64,
            architecture: loaded.architecture,
            context_length: loaded.context_length,
            requantized_tensors: loaded.requantized_tensors,
            threads,
            device: opts.device,
        };
        Ok(Self {
            info,
            opts,
            weights: loaded.weights,
            tokenizer,
            chat,
            stop_ids,
            bos_id,
            report,
            cached: Vec::new(),
            reused_tokens: 0,
        })
    }

    /// How many tokens of the last prompt read came from the cache (a
    /// prewarm, or an earlier section's prompt with the same opening)
    /// instead of being read again.
    pub fn reused_prompt_tokens(&self) -> usize {
        self.reused_tokens
    }

    /// Zeroes and drops the KV cache and the token ids it was read from.
    fn wipe(&mut self) {
        self.weights.wipe_kv_cache();
        self.cached.fill(0);
        self.cached = Vec::new();
    }

    pub fn load_report(&self) -> &LoadReport {
        &self.report
    }

    /// Positions the model can use: the file's context length, capped by
    /// the model code's limit (phi3's original, unscaled context) and by
    /// 16,384 for memory, and by [`LlmOptions::max_context_tokens`].
    pub fn context_length(&self) -> usize {
        match self.opts.max_context_tokens {
            Some(cap) => self.report.context_length.min(cap.max(1)),
            None => self.report.context_length,
        }
    }

    /// Caps the positions used from the next draft on (`None`: the model's
    /// own length).
    pub fn set_max_context_tokens(&mut self, cap: Option<usize>) {
        self.opts.max_context_tokens = cap;
    }

    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// The chat template prompts are rendered with.
    pub fn chat_template(&self) -> &ChatTemplate {
        &self.chat
    }

    pub fn sampling(&self) -> &SamplingParams {
        &self.opts.sampling
    }

    pub fn set_sampling(&mut self, sampling: SamplingParams) {
        self.opts.sampling = sampling;
    }

    fn encode(&self, text: &str) -> Result<Vec<u32>, LlmError> {
        self.tokenizer
            .encode(text, false)
            .map(|e| e.get_ids().to_vec())
            .map_err(|e| LlmError::Tokenizer(format!("encoding failed: {e}")))
    }

    fn decode(&self, ids: &[u32]) -> Result<String, LlmError> {
        self.tokenizer
            .decode(ids, false)
            .map_err(|e| LlmError::Tokenizer(format!("decoding failed: {e}")))
    }

    /// Tokenizes a rendered chat prompt, adding BOS when the model wants one
    /// and the template did not already write it.
    fn encode_prompt(&self, text: &str) -> Result<Vec<u32>, LlmError> {
        let mut ids = self.encode(text)?;
        if let Some(bos) = self.bos_id {
            if ids.first() != Some(&bos) {
                ids.insert(0, bos);
            }
        }
        Ok(ids)
    }

    /// Reads the prompt `tokens` into the KV cache in chunks, starting after
    /// the longest prefix the cache already holds (at least the last token
    /// is read); returns the logits of the last token. A cancelled or
    /// failed prefill leaves the cache valid for the chunks it finished.
    fn prefill(
        &mut self,
        tokens: &[u32],
        cancel: &AtomicBool,
    ) -> Result<candle_core::Tensor, DraftError> {
        let keep = if self.weights.rewinds() {
            let common = self
                .cached
                .iter()
                .zip(tokens)
                .take_while(|(a, b)| a == b)
                .count();
            common.min(tokens.len().saturating_sub(1))
        } else {
            0
        };
        self.cached.truncate(keep);
        self.reused_tokens = keep;
        if keep == 0 {
            self.weights.clear_kv_cache();
        }
        self.feed(&tokens[keep..], keep, cancel)
    }

    /// Reads `tokens` in chunks into the KV cache, which already holds
    /// `start_pos` tokens; returns the logits of the last token. Where the
    /// model rewinds, `cached` follows: each chunk written at `pos` ends
    /// what was valid from `pos` on, and becomes valid once read.
    fn feed(
        &mut self,
        tokens: &[u32],
        start_pos: usize,
        cancel: &AtomicBool,
    ) -> Result<candle_core::Tensor, DraftError> {
        let rewinds = self.weights.rewinds();
        let mut logits = None;
        let mut pos = start_pos;
        for chunk in tokens.chunks(PREFILL_CHUNK_TOKENS) {
            if cancel.load(Ordering::Relaxed) {
                return Err(DraftError::Cancelled);
            }
            self.cached.truncate(pos);
            logits = Some(self.weights.forward(chunk, pos)?);
            pos += chunk.len();
            if rewinds {
                self.cached.extend_from_slice(chunk);
            }
        }
        logits.ok_or_else(|| DraftError::Llm(LlmError::Inference("empty prompt".to_string())))
    }

    /// The next-token logits after `prompt` and after each token of
    /// `continuation` fed after it (`continuation.len() + 1` rows), from an
    /// empty cache: what the golden tests compare with llama.cpp's, feeding
    /// llama.cpp's own choices so that a near-tie cannot send the two down
    /// different texts.
    pub fn logits_along(
        &mut self,
        prompt: &[u32],
        continuation: &[u32],
    ) -> Result<Vec<Vec<f32>>, LlmError> {
        let never = AtomicBool::new(false);
        self.cached.clear();
        let mut logits = self.prefill(prompt, &never).map_err(DraftError::into_llm)?;
        let mut rows = Vec::with_capacity(continuation.len() + 1);
        for (pos, &next) in (prompt.len()..).zip(continuation) {
            rows.push(logits.to_vec1::<f32>()?);
            logits = self.weights.forward(&[next], pos)?;
        }
        rows.push(logits.to_vec1::<f32>()?);
        Ok(rows)
    }

    /// Measures prefill and greedy decode speed on filler text.
    pub fn speed_probe(
        &mut self,
        prompt_tokens: usize,
        decode_tokens: usize,
    ) -> Result<SpeedReport, LlmError> {
        self.speed_probe_at_depth(0, prompt_tokens, decode_tokens)
    }

    /// [`Self::speed_probe`] after `depth` tokens already in the context
    /// (read first, not timed), like llama-bench's `-d`: the speeds a long
    /// session sees, where attention over the context adds to every token.
    pub fn speed_probe_at_depth(
        &mut self,
        depth: usize,
        prompt_tokens: usize,
        decode_tokens: usize,
    ) -> Result<SpeedReport, LlmError> {
        let n_ctx = self.context_length();
        let room = n_ctx.saturating_sub(decode_tokens + 1).max(1);
        let depth = depth.min(room.saturating_sub(1));
        let prompt_tokens = prompt_tokens.clamp(1, room - depth);
        let filler = self.encode(
            "The patient reports pain in the right knee for three weeks, worse on stairs. ",
        )?;
        let all: Vec<u32> = filler
            .iter()
            .copied()
            .cycle()
            .take(depth + prompt_tokens)
            .collect();
        let (context, prompt) = all.split_at(depth);
        let never = AtomicBool::new(false);
        self.weights.clear_kv_cache();
        self.cached.clear();
        if !context.is_empty() {
            self.feed(context, 0, &never)
                .map_err(DraftError::into_llm)?;
        }
        let t0 = Instant::now();
        let mut logits = self
            .feed(prompt, depth, &never)
            .map_err(DraftError::into_llm)?;
        let prefill_ms = t0.elapsed().as_secs_f64() * 1000.0;
        let mut sampler = LogitsProcessor::new(0, None, None);
        let t1 = Instant::now();
        let end = all.len();
        for pos in end..end + decode_tokens {
            let tok = sampler.sample(&logits)?;
            logits = self.weights.forward(&[tok], pos)?;
        }
        Ok(SpeedReport {
            prefill_tokens: prompt.len(),
            prefill_ms,
            decode_tokens,
            decode_ms: t1.elapsed().as_secs_f64() * 1000.0,
        })
    }
}

/// Internal: cancellation is not a failure of the model.
enum DraftError {
    Cancelled,
    Llm(LlmError),
}

impl From<LlmError> for DraftError {
    fn from(e: LlmError) -> Self {
        DraftError::Llm(e)
    }
}

impl From<candle_core::Error> for DraftError {
    fn from(e: candle_core::Error) -> Self {
        DraftError::Llm(e.into())
    }
}

impl DraftError {
    fn into_llm(self) -> LlmError {
        match self {
            DraftError::Cancelled => LlmError::Inference("cancelled".to_string()),
            DraftError::Llm(e) => e,
        }
    }
    fn into_engine(self) -> EngineError {
        match self {
            DraftError::Cancelled => EngineError("drafting was cancelled".to_string()),
            // The application layer says "drafting failed" (once).
            DraftError::Llm(e) => EngineError(e.to_string()),
        }
    }
}

const SYSTEM_PROMPT: &str = "You are a clinical documentation assistant. You write a clinical note from the transcript of a visit. Use only facts stated in the transcript: do not invent symptoms, findings, numbers, medications, doses or diagnoses. Write short, plain sentences in the third person. Write each section under its heading. If the transcript says nothing for a section, write 'Not discussed.'";

fn timestamp(ms: u64) -> String {
    let secs = ms / 1000;
    format!("{:02}:{:02}", secs / 60, secs % 60)
}

fn segment_line(s: &Segment) -> String {
    format!("[{}] {}\n", timestamp(s.start_ms), s.text.trim())
}

fn user_prompt(transcript_text: &str, template: &Template) -> String {
    // Small models copy whatever text the prompt shows them in the note's
    // place, so the prompt names the sections but carries no sample text
    // (the per-section guidance stays in the template for the reviewer).
    let headings: Vec<&str> = template.sections.iter().map(|s| s.heading.trim()).collect();
    format!(
        "Summarize this doctor-patient conversation as a {} with the sections {}.\n\nConversation:\n{}",
        template.name.trim(),
        headings.join(", "),
        transcript_text
    )
}

/// The prompt for one section of a long session: the same instructions,
/// narrowed to the section, and only the segments chosen for it.
/// Like [`user_prompt`], it shows no guidance text: small models copy it
/// into the note (measured: SmolLM2 wrote the SUBJECTIVE guidance as the
/// section). The guidance chooses the segments instead.
fn section_user_prompt(
    transcript_text: &str,
    template: &Template,
    section: &TemplateSection,
) -> String {
    format!(
        "Summarize this doctor-patient conversation as the {} section of a {}.\n\nThe conversation is too long to show whole; these are the parts that matter for this section, in order.\n\nConversation:\n{}",
        section.heading.trim(),
        template.name.trim(),
        transcript_text
    )
}

/// The kept segments as prompt text, in order, with a marker line for each
/// stretch left out; and the characters left out.
fn kept_text(segments: &[Segment], keep: &[bool]) -> (String, u64) {
    let mut text = String::new();
    let mut omitted_chars = 0u64;
    let mut i = 0;
    while i < segments.len() {
        if keep[i] {
            text.push_str(&segment_line(&segments[i]));
            i += 1;
            continue;
        }
        let from = i;
        while i < segments.len() && !keep[i] {
            omitted_chars += segments[i].text.trim().chars().count() as u64;
            i += 1;
        }
        text.push_str(&format!(
            "[... {} segments from {} to {} left out ...]\n",
            i - from,
            timestamp(segments[from].start_ms),
            timestamp(segments[i - 1].end_ms)
        ));
    }
    (text, omitted_chars)
}

/// Tokens a marker line costs, a little over what one measures.
const GAP_MARKER_TOKENS: usize = 24;

/// A line the model wrote that looks like a section header: it ends with
/// ':' and is upper case, or names one of the template's headings.
fn is_header_line(line: &str, headings: &[String]) -> bool {
    let l = line
        .trim()
        .trim_matches(|c: char| c == '*' || c == '#' || c.is_whitespace());
    // Small models number sections themselves ("SECTION 1"): a heading too.
    if let Some(rest) = l
        .get(..7)
        .filter(|p| p.eq_ignore_ascii_case("section"))
        .map(|_| &l[7..])
    {
        if rest.trim().chars().all(|c| c.is_ascii_digit()) {
            return true;
        }
    }
    let Some(name) = l.strip_suffix(':') else {
        return false;
    };
    let name = name.trim().trim_matches('*').trim();
    if name.is_empty() || name.chars().count() > 60 {
        return false;
    }
    let letters = name.chars().filter(|c| c.is_alphabetic()).count();
    let upper = letters >= 2 && !name.chars().any(|c| c.is_lowercase());
    upper || headings.iter().any(|h| h.eq_ignore_ascii_case(name))
}

/// A line that opens with one of the template's headings and a colon
/// ("OBJECTIVE: BP 128/82"): the model moving on to the next section.
fn starts_with_heading(line: &str, headings: &[String]) -> bool {
    let l = line.trim_start_matches(|c: char| c == '*' || c == '#' || c.is_whitespace());
    headings.iter().any(|h| {
        l.len() > h.len()
            && l.is_char_boundary(h.len())
            && l[..h.len()].eq_ignore_ascii_case(h)
            && l[h.len()..].trim_start_matches('*').starts_with(':')
    })
}

/// A partial last line that may still turn into a header.
fn may_become_header(line: &str) -> bool {
    !line.chars().any(|c| c.is_lowercase()) && line.chars().count() <= 80
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stop {
    /// End-of-turn token, or the token budget: nothing to cut.
    End,
    /// A blank line at this byte offset of the raw body.
    Blank(usize),
    /// A header-looking line starting at this byte offset of the raw body.
    Header(usize),
    /// A line repeating an earlier one (small models loop under greedy
    /// decoding) starting at this byte offset of the raw body.
    Repeat(usize),
}

/// Where the raw body text must stop, if it must: the earliest of a blank
/// line, a header-looking line, or a repeated line.
fn find_stop(raw: &str, headings: &[String]) -> Option<Stop> {
    let lead = raw.len() - raw.trim_start().len();
    let body = &raw[lead..];
    let blank = body.find("\n\n").map(|i| Stop::Blank(lead + i));
    let mut seen = std::collections::HashSet::new();
    let mut line_stop = None;
    let mut start = 0;
    loop {
        let end = body[start..].find('\n').map(|nl| start + nl);
        let line = &body[start..end.unwrap_or(body.len())];
        let complete = end.is_some();
        if (complete && is_header_line(line, headings)) || starts_with_heading(line, headings) {
            line_stop = Some(Stop::Header(lead + start));
            break;
        }
        if complete && !line.trim().is_empty() && !seen.insert(line.trim()) {
            line_stop = Some(Stop::Repeat(lead + start));
            break;
        }
        match end {
            Some(e) => start = e + 1,
            None => break,
        }
    }
    // A sentence repeated within the body, or a phrase looping without its
    // full stop ("Patient Portal, Patient Portal, …", a numbered list of one
    // item): greedy loops inside one line.
    let phrase = loops::find_loop(body, &DRAFT_LOOPS).map(|l| l.first_copy_end_byte);
    for at in [first_repeated_sentence(body), phrase]
        .into_iter()
        .flatten()
    {
        let repeat = Stop::Repeat(lead + at);
        let earlier = match &line_stop {
            Some(Stop::Blank(i) | Stop::Header(i) | Stop::Repeat(i)) => lead + at < *i,
            _ => true,
        };
        if earlier {
            line_stop = Some(repeat);
        }
    }
    let offset = |s: &Stop| match s {
        Stop::End => 0,
        Stop::Blank(i) | Stop::Header(i) | Stop::Repeat(i) => *i,
    };
    match (blank, line_stop) {
        (Some(b), Some(l)) => Some(if offset(&l) < offset(&b) { l } else { b }),
        (b, l) => b.or(l),
    }
}

/// Byte offset (in `body`) where a complete sentence of at least 12 bytes
/// first repeats an earlier one.
fn first_repeated_sentence(body: &str) -> Option<usize> {
    let mut seen = std::collections::HashSet::new();
    let mut start = 0;
    for (i, c) in body.char_indices() {
        let ends =
            matches!(c, '.' | '!' | '?') && body[i + 1..].starts_with(|n: char| n.is_whitespace());
        if !ends {
            continue;
        }
        let piece = &body[start..=i];
        let sentence = piece.trim();
        if sentence.len() >= 12 && !seen.insert(sentence) {
            return Some(start + (piece.len() - piece.trim_start().len()));
        }
        start = i + 1;
    }
    None
}

/// The section text the draft keeps from a raw body.
fn final_text(raw: &str, stop: Stop, headings: &[String]) -> String {
    let cut = match stop {
        Stop::End => raw,
        Stop::Blank(i) | Stop::Header(i) => &raw[..i],
        // A loop cut mid-sentence leaves the separator before its second
        // copy ("Patient Portal,").
        Stop::Repeat(i) => trim_loop_separator(&raw[..i]),
    };
    let mut text = cut.trim();
    // A header the model started but did not finish with a newline.
    if let Some((before, last)) = text.rsplit_once('\n').or(Some(("", text))) {
        if is_header_line(last, headings) {
            text = before.trim();
        }
    }
    text.to_string()
}

/// Text before a loop's second copy without the separator that led into it.
fn trim_loop_separator(text: &str) -> &str {
    text.trim_end_matches(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '-' | '–' | '—'))
}

/// The part of a growing raw body that is safe to show: whole words, no
/// leading or trailing whitespace, no last line that may still become a header or a
/// repeat of an earlier line, no words that may be the start of a loop or
/// separator that may lead into one, no half-decoded character.
fn visible_prefix(raw: &str) -> &str {
    let text = raw.trim_start().trim_end_matches('\u{FFFD}');
    // Whole words only: a word that loops on its own characters is cut whole.
    let text = &text[..text.rfind(char::is_whitespace).map_or(0, |ws| ws + 1)];
    // A trailing separator waits for the next word: a loop's cut drops it.
    let text = trim_loop_separator(match loops::pending_repeat(text, &DRAFT_LOOPS) {
        Some(at) => &text[..at],
        None => text,
    });
    let last_line_start = text.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let last = text[last_line_start..].trim_start();
    let may_repeat = text[..last_line_start]
        .lines()
        .any(|l| !l.trim().is_empty() && l.trim().starts_with(last));
    if may_become_header(last) || may_repeat {
        text[..last_line_start].trim_end()
    } else {
        text
    }
}

/// Text to feed before the next header so that what the model has read so
/// far (`tail`) continues as `...body\n\nHEADING:\n`.
fn next_header_feed(tail: &str, stop: Stop, heading: &str) -> String {
    let target = format!("{heading}:\n");
    if let Stop::Header(at) = stop {
        let leak = &tail[at..];
        if let Some(rest) = target.strip_prefix(leak) {
            return rest.to_string();
        }
    }
    if tail.ends_with("\n\n") {
        target
    } else if tail.ends_with('\n') {
        format!("\n{target}")
    } else {
        format!("\n\n{target}")
    }
}

/// The prompts a draft will use, planned before any model work.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PromptPlan {
    /// The whole transcript fits: one prompt, every section written after
    /// it on one KV cache.
    Whole { ids: Vec<u32> },
    /// Too long for one prompt: a prompt per section, each with the
    /// segments chosen for that section (see the module docs).
    BySection { sections: Vec<SectionPlan> },
}

/// One section's prompt in a [`PromptPlan::BySection`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SectionPlan {
    pub ids: Vec<u32>,
    /// Per transcript segment: shown in this section's prompt.
    pub kept: Vec<bool>,
    /// What the prompt held and left out, as the provenance records it.
    pub input: SectionInput,
}

impl PromptPlan {
    /// Tokens the model reads as prompts (summed over sections).
    pub fn prompt_tokens(&self) -> usize {
        match self {
            PromptPlan::Whole { ids } => ids.len(),
            PromptPlan::BySection { sections } => sections.iter().map(|s| s.ids.len()).sum(),
        }
    }

    /// Segments no prompt showed, and their characters.
    pub fn unseen(&self, transcript: &Transcript) -> (usize, u64) {
        let PromptPlan::BySection { sections } = self else {
            return (0, 0);
        };
        let mut n = 0;
        let mut chars = 0u64;
        for (i, seg) in transcript.segments.iter().enumerate() {
            if !sections
                .iter()
                .any(|s| s.kept.get(i).copied().unwrap_or(false))
            {
                n += 1;
                chars += seg.text.trim().chars().count() as u64;
            }
        }
        (n, chars)
    }
}

impl GgufDrafter {
    /// Plans the prompts for `transcript` and `template` with the current
    /// sampling settings: one prompt when it fits the context after leaving
    /// room for every section, else one per section with the segments most
    /// relevant to it (see the module docs), without running the model.
    pub fn plan_prompt(
        &self,
        transcript: &Transcript,
        template: &Template,
    ) -> Result<PromptPlan, LlmError> {
        let max_body = self.opts.sampling.max_tokens_per_section.max(1) as usize;
        self.plan(transcript, template, max_body)
    }

    /// Room a section needs: its header (with up to two newlines before
    /// it), a carried token, the body.
    fn section_reserve(
        &self,
        section: &TemplateSection,
        max_body: usize,
    ) -> Result<usize, LlmError> {
        let header = self.encode(&format!("\n\n{}:\n", section.heading.trim()))?;
        Ok(header.len() + 1 + max_body + SECTION_SLACK_TOKENS)
    }

    fn plan(
        &self,
        transcript: &Transcript,
        template: &Template,
        max_body: usize,
    ) -> Result<PromptPlan, LlmError> {
        let n_ctx = self.context_length();
        let mut reserve = 0;
        for s in &template.sections {
            reserve += self.section_reserve(s, max_body)?;
        }
        let segs = &transcript.segments;
        let all = vec![true; segs.len()];
        let (text, _) = kept_text(segs, &all);
        let ids = self.encode_prompt(
            &self
                .chat
                .render(SYSTEM_PROMPT, &user_prompt(&text, template))?,
        )?;
        // Sections that together do not fit (long bodies) are drafted one
        // at a time as well.
        if ids.len() + reserve < n_ctx {
            return Ok(PromptPlan::Whole { ids });
        }

        let costs: Vec<usize> = segs
            .iter()
            .map(|s| self.encode(&segment_line(s)).map(|ids| ids.len()))
            .collect::<Result<_, _>>()?;
        let texts: Vec<&str> = segs.iter().map(|s| s.text.as_str()).collect();
        let n_sections = template.sections.len();
        let mut sections = Vec::with_capacity(n_sections);
        for (index, section) in template.sections.iter().enumerate() {
            let reserve = self.section_reserve(section, max_body)?;
            let base = self
                .encode_prompt(
                    &self
                        .chat
                        .render(SYSTEM_PROMPT, &section_user_prompt("", template, section))?,
                )?
                .len();
            if base + reserve >= n_ctx {
                return Err(LlmError::Inference(format!(
                    "the {} section needs {} tokens plus {} for the instructions, more than the model's context of {}",
                    section.heading.trim(),
                    reserve,
                    base,
                    n_ctx
                )));
            }
            let terms = spans::section_terms(section);
            let scores = spans::relevance(&texts, &terms, index, n_sections);
            let mut budget = n_ctx - reserve - base;
            loop {
                let keep = spans::select(&costs, &scores, budget, GAP_MARKER_TOKENS);
                let (text, chars_left_out) = kept_text(segs, &keep);
                let ids = self.encode_prompt(&self.chat.render(
                    SYSTEM_PROMPT,
                    &section_user_prompt(&text, template, section),
                )?)?;
                if ids.len() + reserve < n_ctx {
                    let used = keep.iter().filter(|k| **k).count();
                    sections.push(SectionPlan {
                        ids,
                        input: SectionInput {
                            heading: section.heading.trim().to_string(),
                            segments_used: used as u32,
                            segments_left_out: (segs.len() - used) as u32,
                            chars_left_out,
                        },
                        kept: keep,
                    });
                    break;
                }
                if budget == 0 {
                    return Err(LlmError::Inference(
                        "the prompt does not fit the model's context even without the transcript"
                            .to_string(),
                    ));
                }
                let over = ids.len() + reserve + 1 - n_ctx;
                budget = budget.saturating_sub(over.max(8));
            }
        }
        Ok(PromptPlan::BySection { sections })
    }
}

/// Where the model's reading stands: the next position, the logits for it,
/// and a token sampled but not yet fed (it ended the last body).
struct Cursor {
    logits: candle_core::Tensor,
    pos: usize,
    carry: Option<u32>,
}

/// One written section: the raw text the model produced (all of it was
/// fed back) and where it had to stop.
struct Written {
    raw: String,
    stop: Stop,
    text: String,
}

impl GgufDrafter {
    /// Feeds `feed_text` (a header, with what leads up to it) and lets the
    /// model write the section's body, streaming what is safe to show.
    #[allow(clippy::too_many_arguments)]
    fn write_section(
        &mut self,
        cursor: &mut Cursor,
        heading: &str,
        feed_text: &str,
        headings: &[String],
        max_body: usize,
        sampler: &mut LogitsProcessor,
        progress: &mut dyn FnMut(DraftProgress<'_>),
        cancel: &AtomicBool,
    ) -> Result<Written, DraftError> {
        let n_ctx = self.context_length();
        let mut feed: Vec<u32> = cursor.carry.take().into_iter().collect();
        feed.extend(self.encode(feed_text)?);
        if cursor.pos + feed.len() + max_body > n_ctx {
            return Err(
                LlmError::Inference("the draft ran out of model context".to_string()).into(),
            );
        }
        if !feed.is_empty() {
            if cancel.load(Ordering::Relaxed) {
                return Err(DraftError::Cancelled);
            }
            cursor.logits = self.weights.forward(&feed, cursor.pos)?;
            cursor.pos += feed.len();
        }
        progress(DraftProgress::Section(heading));

        let mut body_ids: Vec<u32> = Vec::new();
        let mut raw = String::new();
        let mut shown = String::new();
        let stop = loop {
            if cancel.load(Ordering::Relaxed) {
                return Err(DraftError::Cancelled);
            }
            let tok = sampler.sample(&cursor.logits)?;
            if self.stop_ids.contains(&tok) {
                break Stop::End;
            }
            body_ids.push(tok);
            raw = self.decode(&body_ids)?;
            if let Some(stop) = find_stop(&raw, headings) {
                cursor.carry = Some(tok);
                break stop;
            }
            let visible = visible_prefix(&raw);
            if visible.len() > shown.len() && visible.starts_with(shown.as_str()) {
                progress(DraftProgress::Token(&visible[shown.len()..]));
                shown = visible.to_string();
            }
            if body_ids.len() >= max_body {
                cursor.carry = Some(tok);
                break Stop::End;
            }
            cursor.logits = self.weights.forward(&[tok], cursor.pos)?;
            cursor.pos += 1;
        };
        let text = final_text(&raw, stop, headings);
        if text.len() > shown.len() && text.starts_with(shown.as_str()) {
            progress(DraftProgress::Token(&text[shown.len()..]));
        }
        Ok(Written { raw, stop, text })
    }

    fn draft_inner(
        &mut self,
        transcript: &Transcript,
        template: &Template,
        progress: &mut dyn FnMut(DraftProgress<'_>),
        cancel: &AtomicBool,
    ) -> Result<Draft, DraftError> {
        template
            .validate()
            .map_err(|e| LlmError::Inference(format!("invalid template: {e}")))?;
        let sampling = self.opts.sampling.clone();
        let max_body = sampling.max_tokens_per_section.max(1) as usize;
        let headings: Vec<String> = template.headings().map(|h| h.trim().to_string()).collect();
        let plan = self.plan(transcript, template, max_body)?;
        let mut sampler = LogitsProcessor::new(
            sampling.seed,
            (sampling.temperature > 0.0).then_some(sampling.temperature),
            sampling.top_p,
        );
        let mut sections = Vec::with_capacity(headings.len());
        let mut section_inputs = Vec::new();
        match &plan {
            PromptPlan::Whole { ids } => {
                let logits = self.prefill(ids, cancel)?;
                let mut cursor = Cursor {
                    logits,
                    pos: ids.len(),
                    carry: None,
                };
                // What the model read since the last header, and how the
                // last body stopped: decides the newlines before the next.
                let mut last: Option<Written> = None;
                for heading in &headings {
                    let feed_text = match &last {
                        None => format!("{heading}:\n"),
                        Some(w) => next_header_feed(&w.raw, w.stop, heading),
                    };
                    let w = self.write_section(
                        &mut cursor,
                        heading,
                        &feed_text,
                        &headings,
                        max_body,
                        &mut sampler,
                        progress,
                        cancel,
                    )?;
                    sections.push(DraftSection {
                        heading: heading.clone(),
                        text: w.text.clone(),
                    });
                    last = Some(w);
                }
            }
            PromptPlan::BySection { sections: plans } => {
                for (heading, p) in headings.iter().zip(plans) {
                    let logits = self.prefill(&p.ids, cancel)?;
                    let mut cursor = Cursor {
                        logits,
                        pos: p.ids.len(),
                        carry: None,
                    };
                    let w = self.write_section(
                        &mut cursor,
                        heading,
                        &format!("{heading}:\n"),
                        &headings,
                        max_body,
                        &mut sampler,
                        progress,
                        cancel,
                    )?;
                    sections.push(DraftSection {
                        heading: heading.clone(),
                        text: w.text,
                    });
                    section_inputs.push(p.input.clone());
                }
            }
        }
        let (_, unseen_chars) = plan.unseen(transcript);
        Ok(Draft {
            sections,
            provenance: Provenance {
                model_sha256: self.info.sha256.clone(),
                model_id: self.info.id.clone(),
                template_id: template.id.clone(),
                template_version: template.version,
                sampling,
                prompt_tokens: plan.prompt_tokens() as u32,
                omitted_transcript_chars: unseen_chars,
                section_inputs,
                sentences: Vec::new(),
            },
        })
    }
}

impl GgufDrafter {
    /// Answers one chat turn (`system`, `user`) greedily, at most
    /// `max_tokens` tokens, and forgets it: the KV cache and token ids are
    /// wiped after, as after a draft. Used to rephrase a composed section,
    /// a short prompt holding only that section's facts.
    pub fn complete(
        &mut self,
        system: &str,
        user: &str,
        max_tokens: usize,
        cancel: &AtomicBool,
    ) -> Result<String, EngineError> {
        let result = self.complete_inner(system, user, max_tokens, cancel);
        self.wipe();
        result.map_err(DraftError::into_engine)
    }

    fn complete_inner(
        &mut self,
        system: &str,
        user: &str,
        max_tokens: usize,
        cancel: &AtomicBool,
    ) -> Result<String, DraftError> {
        let ids = self.encode_prompt(&self.chat.render(system, user)?)?;
        if ids.len() + max_tokens > self.context_length() {
            return Err(
                LlmError::Inference("the prompt does not fit the model's context".into()).into(),
            );
        }
        let mut logits = self.prefill(&ids, cancel)?;
        let mut pos = ids.len();
        let mut sampler = LogitsProcessor::new(0, None, None);
        let mut out: Vec<u32> = Vec::new();
        while out.len() < max_tokens {
            if cancel.load(Ordering::Relaxed) {
                return Err(DraftError::Cancelled);
            }
            let tok = sampler.sample(&logits)?;
            if self.stop_ids.contains(&tok) {
                break;
            }
            out.push(tok);
            logits = self.weights.forward(&[tok], pos)?;
            pos += 1;
        }
        Ok(self.decode(&out)?)
    }
}

impl Drafter for GgufDrafter {
    fn draft(
        &mut self,
        transcript: &Transcript,
        template: &Template,
        progress: &mut dyn FnMut(DraftProgress<'_>),
        cancel: &AtomicBool,
    ) -> Result<Draft, EngineError> {
        let result = self.draft_inner(transcript, template, progress, cancel);
        // Nothing of the transcript stays in memory between drafts.
        self.wipe();
        result.map_err(DraftError::into_engine)
    }

    /// Reads the prompt the draft would start with into the cache. The
    /// prompt ends with the transcript, so a draft after more of the visit
    /// was transcribed reads only what is new. A session too long for one
    /// prompt reads nothing: each section's prompt is chosen from the whole
    /// transcript, so what is read early would not be the prompt later.
    fn prewarm(
        &mut self,
        transcript: &Transcript,
        template: &Template,
        cancel: &AtomicBool,
    ) -> Result<(), EngineError> {
        template
            .validate()
            .map_err(|e| EngineError(format!("invalid template: {e}")))?;
        let max_body = self.opts.sampling.max_tokens_per_section.max(1) as usize;
        let plan = self
            .plan(transcript, template, max_body)
            .map_err(|e| DraftError::from(e).into_engine())?;
        let PromptPlan::Whole { ids } = &plan else {
            return Ok(());
        };
        match self.prefill(ids, cancel) {
            Ok(_) | Err(DraftError::Cancelled) => Ok(()),
            Err(e) => Err(e.into_engine()),
        }
    }

    fn forget(&mut self) {
        self.wipe();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hs() -> Vec<String> {
        vec![
            "SUBJECTIVE".into(),
            "OBJECTIVE".into(),
            "ASSESSMENT".into(),
            "PLAN".into(),
        ]
    }

    #[test]
    fn header_lines() {
        let h = hs();
        assert!(is_header_line("OBJECTIVE:", &h));
        assert!(is_header_line("**Assessment:**", &h));
        assert!(is_header_line("CHIEF COMPLAINT:", &h));
        assert!(!is_header_line("Knee pain: three weeks", &h));
        assert!(!is_header_line("The patient said:", &h));
    }

    #[test]
    fn stops_at_section_numbering_and_repeated_sentences() {
        let h = vec!["PLAN".to_string()];
        assert!(is_header_line("SECTION 1", &h) && is_header_line("Section", &h));
        assert!(!is_header_line("Sections of the knee were examined.", &h));
        let body = "Rest the knee. Ice it twice a day. Rest the knee. Rest";
        assert_eq!(first_repeated_sentence(body), Some(35));
        let stop = find_stop(body, &h).expect("a stop");
        assert_eq!(
            final_text(body, stop, &h).trim(),
            "Rest the knee. Ice it twice a day."
        );
    }

    #[test]
    fn stops_at_blank_line_and_header() {
        let h = hs();
        assert_eq!(find_stop("\nKnee pain.\n\nMore", &h), Some(Stop::Blank(11)));
        assert_eq!(
            find_stop("Knee pain.\nOBJECTIVE:\n", &h),
            Some(Stop::Header(11))
        );
        assert_eq!(find_stop("Knee pain.\nCHIEF COMPLAINT:", &h), None);
        assert_eq!(
            find_stop("Knee pain.\nObjective:", &h),
            Some(Stop::Header(11))
        );
        assert_eq!(find_stop("Knee.\nPLAN: rest", &h), Some(Stop::Header(6)));
        assert_eq!(find_stop("Plan to rest", &h), None);
        assert_eq!(
            find_stop("Rest.\nIce.\nRest.\n", &h),
            Some(Stop::Repeat(11))
        );
        assert_eq!(find_stop("Rest.\nIce.\nRest.", &h), None);
        assert_eq!(
            final_text("Rest.\nIce.\nRest.\n", Stop::Repeat(11), &h),
            "Rest.\nIce."
        );
        assert_eq!(
            final_text("Knee pain.\nOBJECTIVE:", Stop::End, &h),
            "Knee pain."
        );
        assert_eq!(
            final_text("Knee pain.\nOBJ:\nx", Stop::Header(11), &h),
            "Knee pain."
        );
    }

    #[test]
    fn cuts_phrase_loops_without_a_full_stop() {
        let h = hs();
        let body = "Follow up via the Patient Portal, Patient Portal, Patient Portal, Pa";
        let stop = find_stop(body, &h).expect("a loop is a stop");
        assert_eq!(stop, Stop::Repeat(33));
        assert_eq!(
            final_text(body, stop, &h),
            "Follow up via the Patient Portal"
        );
        let list = "1. Rest the knee\n2. Rest the knee\n3. Rest the knee\n4";
        let stop = find_stop(list, &h).expect("a numbered list of one item");
        assert_eq!(final_text(list, stop, &h), "1. Rest the knee");
        assert_eq!(
            find_stop("Start 5 mg, then 10 mg, then 15 mg, then 20 mg", &h),
            None
        );
    }

    /// What `write_section` streams, token by token (here: character by
    /// character), and the text the draft keeps.
    fn stream_and_final(body: &str, h: &[String]) -> (String, String) {
        let mut shown = String::new();
        let mut stop = Stop::End;
        let mut raw = body;
        for (i, _) in body.char_indices().skip(1).chain([(body.len(), ' ')]) {
            raw = &body[..i];
            if let Some(s) = find_stop(raw, h) {
                stop = s;
                break;
            }
            let visible = visible_prefix(raw);
            if visible.len() > shown.len() && visible.starts_with(shown.as_str()) {
                shown = visible.to_string();
            }
        }
        (shown, final_text(raw, stop, h))
    }

    #[test]
    fn the_stream_never_shows_what_a_stop_cuts_away() {
        let h = hs();
        for body in [
            "Follow up via the Patient Portal, Patient Portal, Patient Portal, Patient Portal.",
            "no no no no no no no no",
            "A medication called a s-u-h-h-h-h-h-h-h-h-h-h-h-h-h-h",
            "1. Rest\n2. Rest\n3. Rest\n4. Rest",
            "Rest the knee. Ice it. Rest the knee. Rest the knee.",
            "Knee pain for three weeks.\nOBJECTIVE:\nBP 120/80",
            "Ice the knee and the hip, then the knee again.",
            "Start 5 mg, then 10 mg, then 15 mg, then 20 mg.",
        ] {
            let (shown, kept) = stream_and_final(body, &h);
            assert!(
                kept.starts_with(&shown),
                "{body:?}: streamed {shown:?}, kept {kept:?}"
            );
            assert!(!shown.is_empty(), "{body:?}");
        }
        let titration = "Start 5 mg, then 10 mg, then 15 mg, then 20 mg.";
        assert_eq!(stream_and_final(titration, &h).1, titration);
    }

    #[test]
    fn holds_back_possible_headers() {
        assert_eq!(visible_prefix("Knee pain.\nOBJ "), "Knee pain.");
        assert_eq!(visible_prefix("Knee pain.\nShe "), "Knee pain.\nShe");
        assert_eq!(visible_prefix("Knee pain.\nShe sa"), "Knee pain.\nShe");
        assert_eq!(visible_prefix(" Knee \u{FFFD}"), "Knee");
        assert_eq!(
            visible_prefix("Rest well.\nIce.\nRest "),
            "Rest well.\nIce."
        );
        assert_eq!(
            visible_prefix("Rest well.\nIce.\nRest a "),
            "Rest well.\nIce.\nRest a"
        );
    }

    #[test]
    fn header_feed_continues_what_the_model_wrote() {
        assert_eq!(
            next_header_feed("Pain.\nOBJECTIVE:\n", Stop::Header(6), "OBJECTIVE"),
            ""
        );
        assert_eq!(
            next_header_feed("Pain.\nOBJECTIVE:", Stop::Header(6), "OBJECTIVE"),
            "\n"
        );
        assert_eq!(
            next_header_feed("Pain.\nOBJ", Stop::End, "OBJECTIVE"),
            "\n\nOBJECTIVE:\n"
        );
        assert_eq!(
            next_header_feed("Pain.\n\n", Stop::Blank(5), "PLAN"),
            "PLAN:\n"
        );
        assert_eq!(
            next_header_feed("Pain.\nA:\n", Stop::Header(6), "PLAN"),
            "\nPLAN:\n"
        );
    }
}
