//! Tests against the real SmolLM2 (and, where said, Gemma 3 270M) models
//! from the cache; each skips cleanly (with a line saying why) when the
//! model has not been fetched.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

mod support;

use candle_core::quantized::gguf_file::{self, Content, Value};
use candle_core::quantized::{GgmlDType, QTensor};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use support::{cached_model, model_path, GEMMA3};
use tacet_core::draft::SamplingParams;
use tacet_core::ports::{DraftProgress, Drafter};
use tacet_core::template::{Template, TemplateSection};
use tacet_core::transcript::{Segment, Transcript};
use tacet_llm::{
    tokenizer_from_gguf, ChatTemplate, GgufDrafter, LlmError, LlmOptions, ModelInfo, PromptPlan,
};

const SMOLLM2_SHA256: &str = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53";

fn content(path: &Path) -> Content {
    let mut f = std::fs::File::open(path).unwrap();
    Content::read(&mut f).unwrap()
}

fn test_sampling() -> SamplingParams {
    SamplingParams {
        max_tokens_per_section: 24,
        ..SamplingParams::default()
    }
}

/// One model for the whole test binary: loading costs seconds and the
/// machine has two cores, so drafts run one at a time.
fn drafter() -> Option<MutexGuard<'static, GgufDrafter>> {
    static DRAFTER: OnceLock<Option<Mutex<GgufDrafter>>> = OnceLock::new();
    let cell = DRAFTER.get_or_init(|| {
        let path = model_path()?;
        let opts = LlmOptions {
            threads: 1,
            sampling: test_sampling(),
            requantize_to_q8_0: true,
            requantize_all_to_q8_0: false,
            max_context_tokens: None,
            ..LlmOptions::default()
        };
        let info = ModelInfo {
            id: "smollm2-135m-instruct-q4_1".into(),
            sha256: SMOLLM2_SHA256.into(),
        };
        Some(Mutex::new(GgufDrafter::load(&path, info, opts).unwrap()))
    });
    cell.as_ref()
        .map(|m| m.lock().unwrap_or_else(|e| e.into_inner()))
}

fn soap() -> Template {
    let s = |h: &str, g: &str| TemplateSection {
        heading: h.into(),
        guidance: g.into(),
        draws: Vec::new(),
    };
    Template {
        id: "soap".into(),
        version: 1,
        name: "SOAP note".into(),
        loinc: None,
        sections: vec![
            s(
                "SUBJECTIVE",
                "The patient's own account: complaint, history, symptoms.",
            ),
            s("OBJECTIVE", "Examination findings and vital signs."),
            s("ASSESSMENT", "The clinician's impression or diagnosis."),
            s("PLAN", "Tests, treatment, follow-up."),
        ],
    }
}

fn knee_visit() -> Transcript {
    let lines = [
        "Hi, what brings you in today?",
        "My right knee has been hurting for about three weeks.",
        "Did you injure it?",
        "I twisted it playing football. It is worse on stairs.",
        "Any swelling?",
        "A little in the evenings.",
        "On examination there is mild swelling and tenderness on the inner side of the right knee.",
        "Blood pressure is 128 over 82.",
        "This looks like a sprain of the medial ligament.",
        "Take ibuprofen 400 milligrams three times a day with food, rest it, and come back in two weeks.",
    ];
    Transcript {
        language: "en".into(),
        segments: lines
            .iter()
            .enumerate()
            .map(|(i, t)| Segment {
                id: i as u32,
                start_ms: i as u64 * 6000,
                end_ms: i as u64 * 6000 + 5000,
                speaker: None,
                text: t.to_string(),
                confidence: 1.0,
                unsure: Vec::new(),
            })
            .collect(),
        model_sha256: "0".repeat(64),
    }
}

// ---- tokenizer ----------------------------------------------------------

#[test]
fn tokenizer_round_trips_a_chat_prompt() {
    let Some(path) = model_path() else { return };
    let ct = content(&path);
    let tok = tokenizer_from_gguf(&ct).unwrap();
    let chat = ChatTemplate::from_gguf(&ct).unwrap();
    assert!(!chat.is_fallback);
    let prompt = chat
        .render(
            "You write notes.",
            "Knee pain since 2024-03-05, 3 weeks.\n\nÜbel? naïve café",
        )
        .unwrap();
    assert!(
        prompt.starts_with("<|im_start|>system\nYou write notes.<|im_end|>\n<|im_start|>user\n")
    );
    assert!(prompt.ends_with("<|im_end|>\n<|im_start|>assistant\n"));
    let enc = tok.encode(prompt.as_str(), true).unwrap();
    let ids = enc.get_ids();
    assert_eq!(tok.decode(ids, false).unwrap(), prompt);
    // Special tokens are single ids; no BOS for SmolLM2 (add_bos_token false).
    let im_start = tok.token_to_id("<|im_start|>").unwrap();
    let im_end = tok.token_to_id("<|im_end|>").unwrap();
    assert_eq!((im_start, im_end), (1, 2));
    assert_eq!(ids[0], im_start);
    assert_eq!(ids.iter().filter(|&&i| i == im_start).count(), 3);
    assert_eq!(ids.iter().filter(|&&i| i == im_end).count(), 2);
}

#[test]
fn tokenizer_no_space_after_special_tokens() {
    let Some(path) = model_path() else { return };
    let tok = tokenizer_from_gguf(&content(&path)).unwrap();
    let ids = tok
        .encode("<|im_start|>user\nHello<|im_end|>", true)
        .unwrap();
    let user = tok.token_to_id("user").unwrap();
    let hello = tok.token_to_id("Hello").unwrap();
    // candle's builder produced "Ġuser" here (a spurious space).
    assert_eq!(ids.get_ids(), &[1, user, 198, hello, 2]);
}

#[test]
fn tokenizer_splits_digits_and_matches_known_ids() {
    let Some(path) = model_path() else { return };
    let tok = tokenizer_from_gguf(&content(&path)).unwrap();
    let digits = tok.encode("2024", false).unwrap();
    let expect: Vec<u32> = "2024"
        .chars()
        .map(|c| tok.token_to_id(&c.to_string()).unwrap())
        .collect();
    assert_eq!(digits.get_ids(), expect.as_slice());
    // Ids read off the GGUF vocabulary: "The"=504, "Ġknee"=10929, "Ġpain"=1556.
    assert_eq!(
        tok.encode("The knee pain", false).unwrap().get_ids(),
        &[504, 10929, 1556]
    );
    // "\n\n" alone is one token (ĊĊ = 1116); before a letter the GPT-2
    // regex splits it into two single newlines (Ċ = 198), as llama.cpp does.
    assert_eq!(tok.encode("\n\n", false).unwrap().get_ids(), &[1116]);
    let ids = tok.encode("a\n\nb", false).unwrap();
    assert_eq!(ids.get_ids()[1..3], [198, 198]);
}

#[test]
fn chat_template_falls_back_to_chatml() {
    let t = ChatTemplate::new(tacet_llm::chat::CHATML_TEMPLATE, "", "<|im_end|>").unwrap();
    let text = t.render("sys", "hi").unwrap();
    assert_eq!(
        text,
        "<|im_start|>system\nsys<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    );
}

#[test]
fn chat_template_for_gemma_without_one_uses_its_turns() {
    let t = ChatTemplate::new(tacet_llm::chat::GEMMA_TURNS_TEMPLATE, "<bos>", "<eos>").unwrap();
    assert_eq!(
        t.render("sys", "hi").unwrap(),
        "<start_of_turn>user\nsys\n\nhi<end_of_turn>\n<start_of_turn>model\n"
    );
}

#[test]
fn chat_template_folds_system_when_refused() {
    let src = "{% for m in messages %}{% if m['role'] == 'system' %}{{ raise_exception('no system') }}{% endif %}<{{ m['role'] }}>{{ m['content'] | trim }}{% endfor %}{% if add_generation_prompt %}<model>{% endif %}";
    let t = ChatTemplate::new(src, "<bos>", "<eos>").unwrap();
    assert_eq!(t.render("sys", "hi").unwrap(), "<user>sys\n\nhi<model>");
}

// ---- drafting -----------------------------------------------------------

fn run_draft(d: &mut GgufDrafter, t: &Transcript) -> (tacet_core::Draft, Vec<String>, String) {
    let mut sections = Vec::new();
    let mut streamed = String::new();
    let never = AtomicBool::new(false);
    let draft = d
        .draft(
            t,
            &soap(),
            &mut |p| match p {
                DraftProgress::Section(h) => sections.push(h.to_string()),
                DraftProgress::Token(s) => streamed.push_str(s),
            },
            &never,
        )
        .unwrap();
    (draft, sections, streamed)
}

#[test]
fn drafts_exactly_the_template_sections() {
    let Some(mut d) = drafter() else { return };
    d.set_sampling(test_sampling());
    let t = knee_visit();
    let (draft, streamed_sections, streamed) = run_draft(&mut d, &t);
    eprintln!("{}", draft.render_text());
    let headings: Vec<&str> = draft.sections.iter().map(|s| s.heading.as_str()).collect();
    assert_eq!(headings, ["SUBJECTIVE", "OBJECTIVE", "ASSESSMENT", "PLAN"]);
    assert_eq!(streamed_sections, headings);
    assert!(draft.sections.iter().any(|s| !s.text.trim().is_empty()));
    let all: String = draft.sections.iter().map(|s| s.text.as_str()).collect();
    assert_eq!(streamed, all, "the stream shows exactly the draft's text");
    for s in &draft.sections {
        for line in s.text.lines() {
            assert!(!line.trim().ends_with(':') || line.chars().any(|c| c.is_lowercase()));
        }
    }
    let p = &draft.provenance;
    assert_eq!(p.model_sha256, SMOLLM2_SHA256);
    assert_eq!((p.template_id.as_str(), p.template_version), ("soap", 1));
    assert_eq!(p.omitted_transcript_chars, 0);
    assert!(p.prompt_tokens > 200, "prompt_tokens {}", p.prompt_tokens);
    assert_eq!(p.sampling, test_sampling());
}

const GEMMA3_SHA256: &str = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818";

/// Gemma 3 270M (a base model, so the note is poor; what is tested is that
/// the second family drafts every section, streams, and records itself).
#[test]
fn gemma3_drafts_every_section_with_provenance() {
    let Some(path) = cached_model(GEMMA3) else {
        return;
    };
    let sampling = SamplingParams {
        max_tokens_per_section: 12,
        ..SamplingParams::default()
    };
    let opts = LlmOptions {
        threads: 1,
        sampling: sampling.clone(),
        requantize_to_q8_0: true,
        requantize_all_to_q8_0: false,
        max_context_tokens: None,
        ..LlmOptions::default()
    };
    let info = ModelInfo {
        id: "gemma3-270m-q4_k_m".into(),
        sha256: GEMMA3_SHA256.into(),
    };
    let mut d = GgufDrafter::load(&path, info, opts).unwrap();
    let chat = d.chat_template().render("sys", "hi").unwrap();
    assert!(chat.starts_with("<start_of_turn>user"), "{chat}");
    let (draft, sections, streamed) = run_draft(&mut d, &knee_visit());
    eprintln!("{}", draft.render_text());
    let headings: Vec<&str> = draft.sections.iter().map(|s| s.heading.as_str()).collect();
    assert_eq!(headings, ["SUBJECTIVE", "OBJECTIVE", "ASSESSMENT", "PLAN"]);
    assert_eq!(sections, headings);
    let all: String = draft.sections.iter().map(|s| s.text.as_str()).collect();
    assert_eq!(streamed, all);
    assert_eq!(draft.provenance.model_sha256, GEMMA3_SHA256);
    assert_eq!(draft.provenance.sampling, sampling);
}

#[test]
fn same_settings_give_the_same_draft() {
    let Some(mut d) = drafter() else { return };
    let t = knee_visit();
    d.set_sampling(test_sampling());
    let a = run_draft(&mut d, &t).0;
    let b = run_draft(&mut d, &t).0;
    assert_eq!(a, b, "greedy decoding is reproducible");
    d.set_sampling(SamplingParams {
        temperature: 0.8,
        top_p: Some(0.95),
        seed: 42,
        max_tokens_per_section: 16,
    });
    let c = run_draft(&mut d, &t).0;
    let e = run_draft(&mut d, &t).0;
    d.set_sampling(test_sampling());
    assert_eq!(c, e, "seeded sampling is reproducible");
}

/// Reading ahead while the visit is still being transcribed: a draft after
/// a prewarm on the first segments reads only the prompt after them, and
/// is the draft a cold start gives; a draft, or `forget`, leaves nothing
/// behind.
#[test]
fn a_prewarmed_draft_reads_only_what_is_new_and_is_the_same_draft() {
    let Some(mut d) = drafter() else { return };
    d.set_sampling(test_sampling());
    let full = knee_visit();
    let cold = run_draft(&mut d, &full).0;
    assert_eq!(
        d.reused_prompt_tokens(),
        0,
        "the draft before left no cache"
    );
    let mut early = full.clone();
    early.segments.truncate(7);
    let never = AtomicBool::new(false);
    d.prewarm(&early, &soap(), &never).unwrap();
    let warm = run_draft(&mut d, &full).0;
    let reused = d.reused_prompt_tokens();
    let total = warm.provenance.prompt_tokens as usize;
    assert!(
        reused > total / 2 && reused < total,
        "reused {reused} of {total} prompt tokens"
    );
    assert_eq!(warm, cold, "the same draft, read ahead or not");
    // A cancelled prewarm keeps nothing it did not finish, and forget
    // drops what it kept.
    d.prewarm(&early, &soap(), &AtomicBool::new(true)).unwrap();
    d.prewarm(&early, &soap(), &never).unwrap();
    d.forget();
    let after = run_draft(&mut d, &full).0;
    assert_eq!(d.reused_prompt_tokens(), 0, "forget dropped the cache");
    assert_eq!(after, cold);
}

#[test]
fn cancel_stops_the_draft() {
    let Some(mut d) = drafter() else { return };
    d.set_sampling(test_sampling());
    let cancel = AtomicBool::new(false);
    let mut events = 0;
    let result = d.draft(
        &knee_visit(),
        &soap(),
        &mut |_| {
            events += 1;
            if events >= 3 {
                cancel.store(true, Ordering::Relaxed);
            }
        },
        &cancel,
    );
    let err = result.unwrap_err();
    assert!(err.0.contains("cancelled"), "{err}");
    assert!(
        events < 8,
        "stopped soon after the flag was set ({events} events)"
    );
}

/// The knee visit with `n` segments of small talk put in its middle, the
/// plan moved to the end of a long session.
fn long_visit(n: u64) -> (Transcript, &'static str) {
    let filler = "We talked about the weather and the drive over here and nothing clinical at all.";
    let mut t = knee_visit();
    let last = t.segments.split_off(6);
    for i in 0..n {
        t.segments.push(Segment {
            id: 0,
            start_ms: 60_000 + i * 4000,
            end_ms: 63_000 + i * 4000,
            speaker: None,
            text: filler.into(),
            confidence: 1.0,
            unsure: Vec::new(),
        });
    }
    for mut s in last {
        s.start_ms += 60_000 + n * 4000;
        s.end_ms += 60_000 + n * 4000;
        t.segments.push(s);
    }
    for (i, s) in t.segments.iter_mut().enumerate() {
        s.id = i as u32;
    }
    (t, filler)
}

#[test]
fn a_long_session_is_planned_section_by_section_from_the_relevant_segments() {
    let Some(mut d) = drafter() else { return };
    d.set_sampling(test_sampling());
    d.set_max_context_tokens(None);
    assert!(matches!(
        d.plan_prompt(&knee_visit(), &soap()).unwrap(),
        PromptPlan::Whole { .. }
    ));
    let (t, filler) = long_visit(1200);
    let plan = d.plan_prompt(&t, &soap()).unwrap();
    let PromptPlan::BySection { sections } = &plan else {
        panic!("a session longer than the context is drafted by section");
    };
    assert_eq!(sections.len(), 4);
    let n = t.segments.len();
    let at = |needle: &str| {
        t.segments
            .iter()
            .position(|s| s.text.contains(needle))
            .unwrap()
    };
    let (exam, bp, sprain, dose) = (
        at("On examination"),
        at("Blood pressure"),
        at("sprain"),
        at("ibuprofen"),
    );
    for (s, heading) in sections
        .iter()
        .zip(["SUBJECTIVE", "OBJECTIVE", "ASSESSMENT", "PLAN"])
    {
        assert_eq!(s.input.heading, heading);
        assert!(s.ids.len() + 24 + 8 < d.context_length());
        assert!(s.kept[0] && s.kept[1], "{heading}: the opening is kept");
        assert!(s.input.segments_left_out > 0 && s.input.chars_left_out > 0);
        assert_eq!(s.input.segments_used + s.input.segments_left_out, n as u32);
        let text = d.tokenizer().decode(&s.ids, false).unwrap();
        assert!(text.contains("left out"), "{heading}: the model is told");
        assert!(
            text.contains(heading),
            "{heading}: the prompt names the section"
        );
    }
    assert!(
        sections[1].kept[exam] && sections[1].kept[bp],
        "OBJECTIVE has the exam and the blood pressure"
    );
    assert!(sections[2].kept[sprain], "ASSESSMENT has the impression");
    assert!(
        sections[3].kept[dose],
        "PLAN has the dose and the follow-up"
    );
    // Nothing clinical is unseen by every section; small talk is.
    let (unseen, unseen_chars) = plan.unseen(&t);
    assert!(unseen > 0);
    assert_eq!(unseen_chars, unseen as u64 * filler.len() as u64);
}

#[test]
fn a_long_session_drafts_every_section_and_records_what_each_left_out() {
    let Some(mut d) = drafter() else { return };
    d.set_sampling(test_sampling());
    // A context of 768 positions makes a 40-segment visit "long" and keeps
    // four section prompts quick on two cores.
    d.set_max_context_tokens(Some(768));
    let (t, filler) = long_visit(60);
    let plan = d.plan_prompt(&t, &soap()).unwrap();
    assert!(matches!(plan, PromptPlan::BySection { .. }));
    let (draft, streamed_sections, _) = run_draft(&mut d, &t);
    d.set_max_context_tokens(None);
    eprintln!("{}", draft.render_text());
    let headings: Vec<&str> = draft.sections.iter().map(|s| s.heading.as_str()).collect();
    assert_eq!(headings, ["SUBJECTIVE", "OBJECTIVE", "ASSESSMENT", "PLAN"]);
    assert_eq!(streamed_sections, headings);
    let p = &draft.provenance;
    assert_eq!(p.section_inputs.len(), 4);
    assert_eq!(p.sections_missing_transcript().count(), 4);
    assert!(
        p.prompt_tokens as usize > 4 * 400,
        "four prompts read: {}",
        p.prompt_tokens
    );
    assert!(p.omitted_transcript_chars > 0);
    assert_eq!(
        p.omitted_transcript_chars % filler.len() as u64,
        0,
        "only small talk was unseen"
    );
}

#[test]
fn fail_template_too_long_for_the_context() {
    let Some(mut d) = drafter() else { return };
    // Longer than the context even for one section alone (sections that
    // only together are too long are drafted one at a time).
    d.set_sampling(SamplingParams {
        max_tokens_per_section: 9000,
        ..test_sampling()
    });
    let never = AtomicBool::new(false);
    let result = d.draft(&knee_visit(), &soap(), &mut |_| {}, &never);
    d.set_sampling(test_sampling());
    let err = result.unwrap_err();
    assert!(err.0.contains("context"), "{err}");
}

// ---- malformed files ------------------------------------------------------

fn info() -> ModelInfo {
    ModelInfo {
        id: "x".into(),
        sha256: "0".repeat(64),
    }
}

#[test]
fn fail_garbage_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("garbage.gguf");
    std::fs::write(&path, b"this is not a model at all, just some bytes").unwrap();
    let err = GgufDrafter::load(&path, info(), LlmOptions::default()).unwrap_err();
    assert!(matches!(err, LlmError::MalformedGguf { .. }), "{err}");
    assert!(err.to_string().contains("garbage.gguf"));
}

#[test]
fn fail_missing_file() {
    let err = GgufDrafter::load(
        Path::new("/nonexistent/model.gguf"),
        info(),
        LlmOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, LlmError::Io { .. }), "{err}");
}

#[test]
fn fail_truncated_model() {
    let Some(path) = model_path() else { return };
    let bytes = std::fs::read(&path).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (name, len) in [
        ("header.gguf", 1_000_000),
        ("tensors.gguf", bytes.len() * 9 / 10),
    ] {
        let p = dir.path().join(name);
        std::fs::write(&p, &bytes[..len]).unwrap();
        let opts = LlmOptions {
            threads: 1,
            requantize_to_q8_0: false,
            requantize_all_to_q8_0: false,
            ..LlmOptions::default()
        };
        let err = GgufDrafter::load(&p, info(), opts).unwrap_err();
        assert!(
            matches!(
                err,
                LlmError::MalformedGguf { .. } | LlmError::Weights { .. }
            ),
            "{name}: {err}"
        );
    }
}

/// A tiny GGUF with a valid byte-level tokenizer and the given extra metadata.
fn tiny_gguf(path: &Path, extra: &[(&str, Value)]) {
    let tokens: Vec<Value> = ["a", "b", "ab", "<|im_end|>"]
        .iter()
        .map(|s| Value::String(s.to_string()))
        .collect();
    let mut md: Vec<(&str, Value)> = vec![
        ("tokenizer.ggml.model", Value::String("gpt2".into())),
        ("tokenizer.ggml.pre", Value::String("smollm".into())),
        ("tokenizer.ggml.tokens", Value::Array(tokens)),
        (
            "tokenizer.ggml.merges",
            Value::Array(vec![Value::String("a b".into())]),
        ),
        ("tokenizer.ggml.eos_token_id", Value::U32(3)),
    ];
    md.extend(extra.iter().cloned());
    let refs: Vec<(&str, &Value)> = md.iter().map(|(k, v)| (*k, v)).collect();
    let t = candle_core::Tensor::zeros((4, 32), candle_core::DType::F32, &candle_core::Device::Cpu)
        .unwrap();
    let q = QTensor::quantize(&t, GgmlDType::Q8_0).unwrap();
    let mut f = std::fs::File::create(path).unwrap();
    gguf_file::write(&mut f, &refs, &[("token_embd.weight", &q)]).unwrap();
}

#[test]
fn fail_zero_heads_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("zero-heads.gguf");
    tiny_gguf(
        &path,
        &[
            ("general.architecture", Value::String("llama".into())),
            ("llama.attention.head_count", Value::U32(0)),
            ("llama.attention.head_count_kv", Value::U32(0)),
            ("llama.block_count", Value::U32(1)),
            ("llama.embedding_length", Value::U32(32)),
            ("llama.rope.dimension_count", Value::U32(32)),
            ("llama.attention.layer_norm_rms_epsilon", Value::F32(1e-5)),
        ],
    );
    let err = GgufDrafter::load(&path, info(), LlmOptions::default()).unwrap_err();
    assert!(matches!(err, LlmError::BadHyperParameter { .. }), "{err}");
}

#[test]
fn fail_missing_tensors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-layers.gguf");
    tiny_gguf(
        &path,
        &[
            ("general.architecture", Value::String("llama".into())),
            ("llama.attention.head_count", Value::U32(1)),
            ("llama.attention.head_count_kv", Value::U32(1)),
            ("llama.block_count", Value::U32(1)),
            ("llama.embedding_length", Value::U32(32)),
            ("llama.rope.dimension_count", Value::U32(32)),
            ("llama.attention.layer_norm_rms_epsilon", Value::F32(1e-5)),
        ],
    );
    let err = GgufDrafter::load(&path, info(), LlmOptions::default()).unwrap_err();
    assert!(matches!(err, LlmError::Weights { .. }), "{err}");
}

#[test]
fn fail_unsupported_architecture() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mamba.gguf");
    tiny_gguf(
        &path,
        &[("general.architecture", Value::String("mamba".into()))],
    );
    let err = GgufDrafter::load(&path, info(), LlmOptions::default()).unwrap_err();
    assert!(
        matches!(err, LlmError::UnsupportedArchitecture(ref a) if a == "mamba"),
        "{err}"
    );
}

#[test]
fn fail_gemma3_without_its_hyper_parameters_names_the_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gemma.gguf");
    tiny_gguf(
        &path,
        &[("general.architecture", Value::String("gemma3".into()))],
    );
    let err = GgufDrafter::load(&path, info(), LlmOptions::default()).unwrap_err();
    assert!(matches!(err, LlmError::BadHyperParameter { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("gemma.gguf") && msg.contains("gemma3."),
        "{msg}"
    );
}

#[test]
fn fail_sentencepiece_tokenizer_without_scores_names_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spm.gguf");
    tiny_gguf(
        &path,
        &[("general.architecture", Value::String("llama".into()))],
    );
    let mut ct = content(&path);
    ct.metadata
        .insert("tokenizer.ggml.model".into(), Value::String("llama".into()));
    let err = tokenizer_from_gguf(&ct).unwrap_err();
    assert!(err.to_string().contains("tokenizer.ggml.scores"), "{err}");
}
