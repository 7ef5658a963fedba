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
//! section), whole segments are dropped from the middle: the opening of a
//! visit holds the complaint and history, its end holds the plan, and the
//! middle (examination chatter) is what a note loses least by. A marker line
//! tells the model a part is missing, and the number of characters left out
//! is recorded in the provenance; nothing is dropped silently.

use crate::chat::ChatTemplate;
use crate::error::LlmError;
use crate::model::{self, ModelWeights};
use crate::threads;
use crate::tokenizer::{stop_token_ids, tokenizer_from_gguf};
use candle_transformers::generation::LogitsProcessor;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;
use tacet_core::draft::{Draft, DraftSection, Provenance, SamplingParams};
use tacet_core::ports::{DraftProgress, Drafter, EngineError};
use tacet_core::template::Template;
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
}

impl Default for LlmOptions {
    fn default() -> Self {
        Self {
            threads: 1,
            sampling: SamplingParams::default(),
            requantize_to_q8_0: true,
            requantize_all_to_q8_0: false,
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
    /// Loads a GGUF model: tokenizer, chat template and weights.
    pub fn load(path: &Path, info: ModelInfo, opts: LlmOptions) -> Result<Self, LlmError> {
        let started = Instant::now();
        let threads = threads::configure_threads(opts.threads);
        let (content, mut file) = model::read_content(path)?;
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
            &mut file,
            opts.requantize_to_q8_0,
            opts.requantize_all_to_q8_0,
        )?;
        let report = LoadReport {
            load_ms: started.elapsed().as_millis() as u64,
            architecture: loaded.architecture,
            context_length: loaded.context_length,
            requantized_tensors: loaded.requantized_tensors,
            threads,
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
        })
    }

    pub fn load_report(&self) -> &LoadReport {
        &self.report
    }

    /// Positions the model can use: the file's context length, capped by
    /// the model code's limit (phi3's original, unscaled context) and by
    /// 16,384 for memory.
    pub fn context_length(&self) -> usize {
        self.report.context_length
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

    /// Reads `tokens` into a fresh KV cache in chunks; returns the logits of
    /// the last token.
    fn prefill(
        &mut self,
        tokens: &[u32],
        cancel: &AtomicBool,
    ) -> Result<candle_core::Tensor, DraftError> {
        self.weights.clear_kv_cache();
        let mut logits = None;
        let mut pos = 0;
        for chunk in tokens.chunks(PREFILL_CHUNK_TOKENS) {
            if cancel.load(Ordering::Relaxed) {
                return Err(DraftError::Cancelled);
            }
            logits = Some(self.weights.forward(chunk, pos)?);
            pos += chunk.len();
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
        let n_ctx = self.context_length();
        let prompt_tokens = prompt_tokens.clamp(1, n_ctx.saturating_sub(decode_tokens + 1).max(1));
        let filler = self.encode(
            "The patient reports pain in the right knee for three weeks, worse on stairs. ",
        )?;
        let prompt: Vec<u32> = filler.iter().copied().cycle().take(prompt_tokens).collect();
        let never = AtomicBool::new(false);
        let t0 = Instant::now();
        let mut logits = self
            .prefill(&prompt, &never)
            .map_err(DraftError::into_llm)?;
        let prefill_ms = t0.elapsed().as_secs_f64() * 1000.0;
        let mut sampler = LogitsProcessor::new(0, None, None);
        let t1 = Instant::now();
        for pos in prompt.len()..prompt.len() + decode_tokens {
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
            DraftError::Llm(e) => EngineError(format!("drafting failed: {e}")),
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

/// Which segments to keep: `0..head` and `tail..n`, the rest dropped.
fn select_segments(costs: &[usize], budget: usize, marker_cost: usize) -> (usize, usize) {
    let n = costs.len();
    if costs.iter().sum::<usize>() <= budget {
        return (n, n);
    }
    let budget = budget.saturating_sub(marker_cost);
    let head_share = budget * 2 / 5;
    let mut used = 0;
    let mut head = 0;
    while head < n && used + costs[head] <= head_share {
        used += costs[head];
        head += 1;
    }
    let mut tail = n;
    while tail > head && used + costs[tail - 1] <= budget {
        used += costs[tail - 1];
        tail -= 1;
    }
    while head < tail && used + costs[head] <= budget {
        used += costs[head];
        head += 1;
    }
    (head, tail)
}

/// The transcript as prompt text, segments `head..tail` replaced by a marker.
fn transcript_text(segments: &[Segment], head: usize, tail: usize) -> (String, u64) {
    let mut text = String::new();
    let mut omitted_chars = 0u64;
    for s in &segments[..head] {
        text.push_str(&segment_line(s));
    }
    if head < tail {
        let from = &segments[head];
        let to = &segments[tail - 1];
        text.push_str(&format!(
            "[... {} segments from {} to {} left out: too long for the model ...]\n",
            tail - head,
            timestamp(from.start_ms),
            timestamp(to.end_ms)
        ));
        omitted_chars = segments[head..tail]
            .iter()
            .map(|s| s.text.trim().chars().count() as u64)
            .sum();
    }
    for s in &segments[tail..] {
        text.push_str(&segment_line(s));
    }
    (text, omitted_chars)
}

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
    // A sentence repeated within the body (greedy loops inside one line).
    if let Some(at) = first_repeated_sentence(body) {
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
        Stop::Blank(i) | Stop::Header(i) | Stop::Repeat(i) => &raw[..i],
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

/// The part of a growing raw body that is safe to show: no leading or
/// trailing whitespace, no last line that may still become a header or a
/// repeat of an earlier line, no half-decoded character.
fn visible_prefix(raw: &str) -> &str {
    let text = raw.trim_start().trim_end_matches('\u{FFFD}').trim_end();
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

/// The prompt a draft will use, planned before any model work.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PromptPlan {
    /// Token ids of the whole chat prompt (instructions and transcript).
    pub ids: Vec<u32>,
    /// Characters of transcript text left out because it did not fit.
    pub omitted_transcript_chars: u64,
    /// Segments left out (a middle stretch of the visit).
    pub omitted_segments: usize,
}

impl GgufDrafter {
    /// Plans the prompt for `transcript` and `template` with the current
    /// sampling settings: which segments fit the context after leaving room
    /// for every section (see the module docs), without running the model.
    pub fn plan_prompt(
        &self,
        transcript: &Transcript,
        template: &Template,
    ) -> Result<PromptPlan, LlmError> {
        let max_body = self.opts.sampling.max_tokens_per_section.max(1) as usize;
        self.plan(transcript, template, max_body)
    }

    fn plan(
        &self,
        transcript: &Transcript,
        template: &Template,
        max_body: usize,
    ) -> Result<PromptPlan, LlmError> {
        let n_ctx = self.context_length();
        // Room every section needs: its header (with up to two newlines
        // before it), a carried token, the body.
        let mut reserve = 0;
        for s in &template.sections {
            let header = self.encode(&format!("\n\n{}:\n", s.heading.trim()))?;
            reserve += header.len() + 1 + max_body + SECTION_SLACK_TOKENS;
        }
        let base = self
            .encode_prompt(
                &self
                    .chat
                    .render(SYSTEM_PROMPT, &user_prompt("", template))?,
            )?
            .len();
        if base + reserve >= n_ctx {
            return Err(LlmError::Inference(format!(
                "the template needs {} tokens ({} sections of up to {} tokens) plus {} for the instructions, more than the model's context of {}",
                reserve,
                template.sections.len(),
                max_body,
                base,
                n_ctx
            )));
        }
        let segs = &transcript.segments;
        let costs: Vec<usize> = segs
            .iter()
            .map(|s| self.encode(&segment_line(s)).map(|ids| ids.len()))
            .collect::<Result<_, _>>()?;
        let marker_cost = 40;
        let mut budget = n_ctx - reserve - base;
        loop {
            let (head, tail) = select_segments(&costs, budget, marker_cost);
            let (text, omitted) = transcript_text(segs, head, tail);
            let ids = self.encode_prompt(
                &self
                    .chat
                    .render(SYSTEM_PROMPT, &user_prompt(&text, template))?,
            )?;
            if ids.len() + reserve < n_ctx {
                return Ok(PromptPlan {
                    ids,
                    omitted_transcript_chars: omitted,
                    omitted_segments: tail - head,
                });
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
}

impl GgufDrafter {
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
        let prompt_ids = plan.ids;
        let omitted_chars = plan.omitted_transcript_chars;
        let n_ctx = self.context_length();

        let mut sampler = LogitsProcessor::new(
            sampling.seed,
            (sampling.temperature > 0.0).then_some(sampling.temperature),
            sampling.top_p,
        );
        let mut logits = self.prefill(&prompt_ids, cancel)?;
        let mut pos = prompt_ids.len();
        // Text the model has read since the last header, and how the last
        // body stopped; decides the newlines before the next header.
        let mut tail = String::new();
        let mut last_stop = Stop::End;
        let mut carry: Option<u32> = None;
        let mut sections = Vec::with_capacity(headings.len());

        for (i, heading) in headings.iter().enumerate() {
            let feed_text = if i == 0 {
                format!("{heading}:\n")
            } else {
                next_header_feed(&tail, last_stop, heading)
            };
            let mut feed: Vec<u32> = carry.take().into_iter().collect();
            feed.extend(self.encode(&feed_text)?);
            if pos + feed.len() + max_body > n_ctx {
                return Err(
                    LlmError::Inference("the draft ran out of model context".to_string()).into(),
                );
            }
            if !feed.is_empty() {
                if cancel.load(Ordering::Relaxed) {
                    return Err(DraftError::Cancelled);
                }
                logits = self.weights.forward(&feed, pos)?;
                pos += feed.len();
            }
            progress(DraftProgress::Section(heading));

            let mut body_ids: Vec<u32> = Vec::new();
            let mut raw = String::new();
            let mut shown = String::new();
            let stop = loop {
                if cancel.load(Ordering::Relaxed) {
                    return Err(DraftError::Cancelled);
                }
                let tok = sampler.sample(&logits)?;
                if self.stop_ids.contains(&tok) {
                    break Stop::End;
                }
                body_ids.push(tok);
                raw = self.decode(&body_ids)?;
                if let Some(stop) = find_stop(&raw, &headings) {
                    carry = Some(tok);
                    break stop;
                }
                let visible = visible_prefix(&raw);
                if visible.len() > shown.len() && visible.starts_with(shown.as_str()) {
                    progress(DraftProgress::Token(&visible[shown.len()..]));
                    shown = visible.to_string();
                }
                if body_ids.len() >= max_body {
                    carry = Some(tok);
                    break Stop::End;
                }
                logits = self.weights.forward(&[tok], pos)?;
                pos += 1;
            };
            let text = final_text(&raw, stop, &headings);
            if text.len() > shown.len() && text.starts_with(shown.as_str()) {
                progress(DraftProgress::Token(&text[shown.len()..]));
            }
            tail = raw;
            last_stop = stop;
            sections.push(DraftSection {
                heading: heading.clone(),
                text,
            });
        }

        Ok(Draft {
            sections,
            provenance: Provenance {
                model_sha256: self.info.sha256.clone(),
                model_id: self.info.id.clone(),
                template_id: template.id.clone(),
                template_version: template.version,
                sampling,
                prompt_tokens: prompt_ids.len() as u32,
                omitted_transcript_chars: omitted_chars,
            },
        })
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
        // Free the KV cache between drafts; it holds the transcript.
        self.weights.clear_kv_cache();
        result.map_err(DraftError::into_engine)
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
    fn holds_back_possible_headers() {
        assert_eq!(visible_prefix("Knee pain.\nOBJ"), "Knee pain.");
        assert_eq!(visible_prefix("Knee pain.\nShe"), "Knee pain.\nShe");
        assert_eq!(visible_prefix(" Knee \u{FFFD}"), "Knee");
        assert_eq!(
            visible_prefix("Rest well.\nIce.\nRest w"),
            "Rest well.\nIce."
        );
        assert_eq!(
            visible_prefix("Rest well.\nIce.\nRest a"),
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

    #[test]
    fn keeps_beginning_and_end() {
        let costs = [10; 10];
        assert_eq!(select_segments(&costs, 100, 5), (10, 10));
        let (head, tail) = select_segments(&costs, 55, 5);
        assert!(head >= 2 && tail <= 10 && tail > head);
        assert!((head + (10 - tail)) * 10 + 5 <= 55);
        assert_eq!(10 - tail + head, 5);
    }
}
