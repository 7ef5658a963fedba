//! The model families beyond llama (qwen2, qwen3, phi3), loaded for real
//! through candle's model code from tiny GGUF files written here: a few
//! layers, tiny dimensions, random weights, a byte-level BPE vocabulary and
//! each family's real chat template. No downloaded model is needed.
//!
//! Real Phi-3 GGUFs carry a SentencePiece (`llama`) vocabulary; the phi3
//! files here use a byte-level BPE vocabulary so the weights path can be
//! exercised end to end (SentencePiece is held to llama.cpp on the real
//! Gemma 3 in `golden.rs`, and by the tokenizer's unit tests).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

use candle_core::quantized::gguf_file::{self, Value};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use tacet_core::draft::SamplingParams;
use tacet_core::ports::{DraftProgress, Drafter};
use tacet_core::template::{Template, TemplateSection};
use tacet_core::transcript::{Segment, Transcript};
use tacet_llm::{ChatTemplate, GgufDrafter, LlmError, LlmOptions, ModelInfo, PromptPlan};

const QWEN25_TEMPLATE: &str = include_str!("fixtures/qwen2.5-instruct.jinja");
const QWEN3_TEMPLATE: &str = include_str!("fixtures/qwen3.jinja");
const PHI35_TEMPLATE: &str = include_str!("fixtures/phi-3.5-mini-instruct.jinja");

const EMBD: usize = 64;
const HEADS: usize = 4;
const KV_HEADS: usize = 2;
const HEAD_DIM: usize = EMBD / HEADS;
const FFN: usize = 128;
const LAYERS: usize = 2;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Family {
    Qwen2,
    Qwen3,
    Phi3,
}

impl Family {
    fn arch(self) -> &'static str {
        match self {
            Family::Qwen2 => "qwen2",
            Family::Qwen3 => "qwen3",
            Family::Phi3 => "phi3",
        }
    }
    fn template(self) -> &'static str {
        match self {
            Family::Qwen2 => QWEN25_TEMPLATE,
            Family::Qwen3 => QWEN3_TEMPLATE,
            Family::Phi3 => PHI35_TEMPLATE,
        }
    }
    /// Control tokens of the family, the end-of-turn marker first.
    fn specials(self) -> &'static [&'static str] {
        match self {
            Family::Qwen2 | Family::Qwen3 => &["<|im_end|>", "<|endoftext|>", "<|im_start|>"],
            Family::Phi3 => &[
                "<|end|>",
                "<|endoftext|>",
                "<|system|>",
                "<|user|>",
                "<|assistant|>",
            ],
        }
    }
}

/// GPT-2's byte-to-unicode table, as byte-level BPE vocabularies spell bytes.
fn byte_chars() -> Vec<char> {
    let printable = |b: u32| {
        (u32::from(b'!')..=u32::from(b'~')).contains(&b)
            || (0xA1..=0xAC).contains(&b)
            || (0xAE..=0xFF).contains(&b)
    };
    let mut extra = 0;
    (0..256u32)
        .map(|b| {
            if printable(b) {
                char::from_u32(b).unwrap()
            } else {
                extra += 1;
                char::from_u32(255 + extra).unwrap()
            }
        })
        .collect()
}

/// Tokens (256 bytes, three merged pieces, then the family's specials),
/// merges and token types.
fn vocabulary(family: Family) -> (Vec<String>, Vec<String>, Vec<i32>) {
    let mut tokens: Vec<String> = byte_chars().into_iter().map(String::from).collect();
    let merges = ["Ġ t", "h e", "Ġt he"];
    tokens.extend(["Ġt", "he", "Ġthe"].map(String::from));
    let mut types = vec![1; tokens.len()];
    for s in family.specials() {
        tokens.push(s.to_string());
        types.push(3);
    }
    (tokens, merges.map(String::from).to_vec(), types)
}

fn id_of(family: Family, token: &str) -> u32 {
    let (tokens, _, _) = vocabulary(family);
    tokens.iter().position(|t| t == token).unwrap() as u32
}

/// How the tensors of a test file are filled.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Weights {
    /// Small pseudo-random values (fixed seed), the feed-forward in Q4_1 so
    /// requantization has something to convert.
    Random,
    /// Layers silent, embeddings constant, and an output matrix whose only
    /// non-zero row is `token`: greedy decoding always picks `token`.
    Always(u32),
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) - 0.5
    }
}

struct Builder {
    rng: Rng,
    weights: Weights,
    tensors: Vec<(String, QTensor)>,
}

impl Builder {
    fn matrix(&mut self, name: &str, rows: usize, cols: usize, dtype: GgmlDType) {
        let data: Vec<f32> = match self.weights {
            Weights::Random => (0..rows * cols).map(|_| self.rng.next() * 0.4).collect(),
            Weights::Always(_) => vec![0.0; rows * cols],
        };
        let t = Tensor::from_vec(data, (rows, cols), &Device::Cpu).unwrap();
        let q = QTensor::quantize(&t, dtype).unwrap();
        self.tensors.push((name.to_string(), q));
    }
    fn vector(&mut self, name: &str, values: Vec<f32>) {
        let n = values.len();
        let t = Tensor::from_vec(values, n, &Device::Cpu).unwrap();
        let q = QTensor::quantize(&t, GgmlDType::F32).unwrap();
        self.tensors.push((name.to_string(), q));
    }
    fn ones(&mut self, name: &str, n: usize) {
        self.vector(name, vec![1.0; n]);
    }
}

struct Spec {
    family: Family,
    weights: Weights,
    context_length: u32,
    /// Metadata overriding the defaults (e.g. a broken hyper-parameter).
    extra: Vec<(String, Value)>,
}

impl Spec {
    fn new(family: Family) -> Self {
        Self {
            family,
            weights: Weights::Random,
            context_length: 4096,
            extra: Vec::new(),
        }
    }
}

fn write_model(path: &Path, spec: &Spec) {
    let family = spec.family;
    let arch = family.arch();
    let (tokens, merges, types) = vocabulary(family);
    let vocab = tokens.len();
    let eos = id_of(family, "<|endoftext|>");
    let key = |k: &str| format!("{arch}.{k}");
    let mut md: Vec<(String, Value)> = vec![
        ("general.architecture".into(), Value::String(arch.into())),
        (key("block_count"), Value::U32(LAYERS as u32)),
        (key("embedding_length"), Value::U32(EMBD as u32)),
        (key("feed_forward_length"), Value::U32(FFN as u32)),
        (key("attention.head_count"), Value::U32(HEADS as u32)),
        (key("attention.head_count_kv"), Value::U32(KV_HEADS as u32)),
        (key("context_length"), Value::U32(spec.context_length)),
        (key("attention.layer_norm_rms_epsilon"), Value::F32(1e-6)),
        (key("rope.freq_base"), Value::F32(10_000.0)),
        (key("rope.dimension_count"), Value::U32(HEAD_DIM as u32)),
        (key("attention.key_length"), Value::U32(HEAD_DIM as u32)),
        (key("attention.value_length"), Value::U32(HEAD_DIM as u32)),
        ("tokenizer.ggml.model".into(), Value::String("gpt2".into())),
        ("tokenizer.ggml.pre".into(), Value::String("qwen2".into())),
        (
            "tokenizer.ggml.tokens".into(),
            Value::Array(tokens.into_iter().map(Value::String).collect()),
        ),
        (
            "tokenizer.ggml.merges".into(),
            Value::Array(merges.into_iter().map(Value::String).collect()),
        ),
        (
            "tokenizer.ggml.token_type".into(),
            Value::Array(types.into_iter().map(Value::I32).collect()),
        ),
        ("tokenizer.ggml.eos_token_id".into(), Value::U32(eos)),
        ("tokenizer.ggml.add_bos_token".into(), Value::Bool(false)),
        (
            "tokenizer.chat_template".into(),
            Value::String(family.template().into()),
        ),
    ];
    for (k, v) in &spec.extra {
        md.retain(|(mk, _)| mk != k);
        md.push((k.clone(), v.clone()));
    }

    let mut b = Builder {
        rng: Rng(7),
        weights: spec.weights,
        tensors: Vec::new(),
    };
    let ffn_dtype = match spec.weights {
        Weights::Random => GgmlDType::Q4_1,
        Weights::Always(_) => GgmlDType::Q8_0,
    };
    let q8 = GgmlDType::Q8_0;
    let kv_dim = KV_HEADS * HEAD_DIM;
    match spec.weights {
        Weights::Random => b.matrix("token_embd.weight", vocab, EMBD, q8),
        Weights::Always(_) => {
            let t = Tensor::ones((vocab, EMBD), candle_core::DType::F32, &Device::Cpu).unwrap();
            let q = QTensor::quantize(&t, q8).unwrap();
            b.tensors.push(("token_embd.weight".into(), q));
        }
    }
    match spec.weights {
        Weights::Random => b.matrix("output.weight", vocab, EMBD, q8),
        Weights::Always(token) => {
            let mut data = vec![0f32; vocab * EMBD];
            let row = token as usize * EMBD;
            data[row..row + EMBD].fill(1.0);
            let t = Tensor::from_vec(data, (vocab, EMBD), &Device::Cpu).unwrap();
            let q = QTensor::quantize(&t, q8).unwrap();
            b.tensors.push(("output.weight".into(), q));
        }
    }
    b.ones("output_norm.weight", EMBD);
    for l in 0..LAYERS {
        let p = |n: &str| format!("blk.{l}.{n}");
        b.ones(&p("attn_norm.weight"), EMBD);
        b.ones(&p("ffn_norm.weight"), EMBD);
        b.matrix(&p("attn_output.weight"), EMBD, HEADS * HEAD_DIM, q8);
        b.matrix(&p("ffn_down.weight"), EMBD, FFN, ffn_dtype);
        match family {
            Family::Phi3 => {
                b.matrix(&p("attn_qkv.weight"), EMBD + 2 * kv_dim, EMBD, q8);
                b.matrix(&p("ffn_up.weight"), 2 * FFN, EMBD, ffn_dtype);
            }
            Family::Qwen2 | Family::Qwen3 => {
                b.matrix(&p("attn_q.weight"), HEADS * HEAD_DIM, EMBD, q8);
                b.matrix(&p("attn_k.weight"), kv_dim, EMBD, q8);
                b.matrix(&p("attn_v.weight"), kv_dim, EMBD, q8);
                b.matrix(&p("ffn_gate.weight"), FFN, EMBD, ffn_dtype);
                b.matrix(&p("ffn_up.weight"), FFN, EMBD, ffn_dtype);
            }
        }
        match family {
            Family::Qwen2 => {
                let mut bias = |name: &str, n: usize| {
                    let v = (0..n).map(|_| b.rng.next() * 0.1).collect();
                    b.vector(name, v);
                };
                bias(&p("attn_q.bias"), HEADS * HEAD_DIM);
                bias(&p("attn_k.bias"), kv_dim);
                bias(&p("attn_v.bias"), kv_dim);
            }
            Family::Qwen3 => {
                b.ones(&p("attn_q_norm.weight"), HEAD_DIM);
                b.ones(&p("attn_k_norm.weight"), HEAD_DIM);
            }
            Family::Phi3 => {}
        }
    }
    let md_refs: Vec<(&str, &Value)> = md.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let t_refs: Vec<(&str, &QTensor)> = b.tensors.iter().map(|(k, t)| (k.as_str(), t)).collect();
    let mut f = std::fs::File::create(path).unwrap();
    gguf_file::write(&mut f, &md_refs, &t_refs).unwrap();
}

fn info() -> ModelInfo {
    ModelInfo {
        id: "tiny-test-model".into(),
        sha256: "0".repeat(64),
    }
}

fn opts() -> LlmOptions {
    LlmOptions {
        threads: 1,
        sampling: SamplingParams {
            max_tokens_per_section: 6,
            ..SamplingParams::default()
        },
        requantize_to_q8_0: true,
        requantize_all_to_q8_0: false,
        max_context_tokens: None,
        ..LlmOptions::default()
    }
}

fn model_file(dir: &tempfile::TempDir, spec: &Spec) -> PathBuf {
    let path = dir.path().join(format!("tiny-{}.gguf", spec.family.arch()));
    write_model(&path, spec);
    path
}

fn template() -> Template {
    let s = |h: &str| TemplateSection {
        heading: h.into(),
        guidance: String::new(),
        draws: Vec::new(),
    };
    Template {
        id: "two".into(),
        version: 1,
        name: "Short note".into(),
        loinc: None,
        sections: vec![s("SUBJECTIVE"), s("PLAN")],
    }
}

fn transcript() -> Transcript {
    let lines = [
        "The knee hurts on the stairs.",
        "Rest it and come back in two weeks.",
    ];
    Transcript {
        language: "en".into(),
        segments: lines
            .iter()
            .enumerate()
            .map(|(i, t)| Segment {
                id: i as u32,
                start_ms: i as u64 * 4000,
                end_ms: i as u64 * 4000 + 3000,
                speaker: None,
                text: t.to_string(),
                confidence: 1.0,
                unsure: Vec::new(),
            })
            .collect(),
        model_sha256: "0".repeat(64),
    }
}

/// Drafts and returns the section texts and how many text pieces streamed.
fn draft(d: &mut GgufDrafter) -> (Vec<String>, usize) {
    let mut streamed = 0;
    let mut progress = |p: DraftProgress<'_>| {
        if let DraftProgress::Token(_) = p {
            streamed += 1;
        }
    };
    let out = d
        .draft(
            &transcript(),
            &template(),
            &mut progress,
            &AtomicBool::new(false),
        )
        .unwrap();
    let texts = out.sections.into_iter().map(|s| s.text).collect();
    (texts, streamed)
}

fn loads_and_drafts_deterministically(family: Family) {
    let dir = tempfile::tempdir().unwrap();
    let path = model_file(&dir, &Spec::new(family));
    let mut d = GgufDrafter::load(&path, info(), opts()).unwrap();
    let report = d.load_report().clone();
    assert_eq!(report.architecture, family.arch());
    assert_eq!(report.context_length, 4096);
    // The Q4_1 feed-forward tensors (3 per layer; phi3 has 2).
    let ffn_tensors = if family == Family::Phi3 { 2 } else { 3 };
    assert_eq!(report.requantized_tensors, ffn_tensors * LAYERS);

    // The prompt is several hundred byte-level tokens, so prefill runs in
    // more than one chunk and the KV cache is extended across chunks.
    let PromptPlan::Whole { ids } = d.plan_prompt(&transcript(), &template()).unwrap() else {
        panic!("the transcript fits one prompt");
    };
    assert!(ids.len() > 512, "{} prompt tokens", ids.len());

    let first = draft(&mut d);
    let again = draft(&mut d);
    // Random weights write random bytes, but they do write: the comparison
    // below is between real generations, not two empty drafts.
    assert!(first.0.iter().all(|t| !t.is_empty()), "{first:?}");
    assert_eq!(first, again, "same drafter, same seed");
    assert_eq!(first.0.len(), 2);

    // A second load of the same file gives the same draft for the same seed.
    let mut d2 = GgufDrafter::load(&path, info(), opts()).unwrap();
    assert_eq!(draft(&mut d2), first, "fresh load, same seed");

    let speed = d2.speed_probe(40, 8).unwrap();
    assert_eq!(speed.prefill_tokens, 40);
    assert_eq!(speed.decode_tokens, 8);
}

#[test]
fn qwen2_loads_and_drafts_deterministically() {
    loads_and_drafts_deterministically(Family::Qwen2);
}

#[test]
fn qwen3_loads_and_drafts_deterministically() {
    loads_and_drafts_deterministically(Family::Qwen3);
}

#[test]
fn phi3_loads_and_drafts_deterministically() {
    loads_and_drafts_deterministically(Family::Phi3);
}

#[test]
fn loads_without_requantization_from_disk() {
    let dir = tempfile::tempdir().unwrap();
    for family in [Family::Qwen2, Family::Qwen3, Family::Phi3] {
        let path = model_file(&dir, &Spec::new(family));
        let o = LlmOptions {
            requantize_to_q8_0: false,
            requantize_all_to_q8_0: false,
            ..opts()
        };
        let mut d = GgufDrafter::load(&path, info(), o).unwrap();
        assert_eq!(d.load_report().requantized_tensors, 0);
        let (texts, _) = draft(&mut d);
        assert_eq!(texts.len(), 2, "{family:?}");
    }
}

#[test]
fn context_length_is_the_declared_one_capped() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        // (family, declared, extra metadata, expected)
        (Family::Qwen2, 1024, vec![], 1024),
        (Family::Qwen2, 1_000_000, vec![], 16_384),
        (Family::Qwen3, 40_960, vec![], 16_384),
        // Phi-3.5 declares 128k but candle applies no LongRoPE scaling.
        (
            Family::Phi3,
            131_072,
            vec![(
                "phi3.rope.scaling.original_context_length".to_string(),
                Value::U32(4096),
            )],
            4096,
        ),
        (Family::Phi3, 2048, vec![], 2048),
    ];
    for (family, declared, extra, expected) in cases {
        let spec = Spec {
            context_length: declared,
            extra,
            ..Spec::new(family)
        };
        let path = model_file(&dir, &spec);
        let d = GgufDrafter::load(&path, info(), opts()).unwrap();
        assert_eq!(
            d.context_length(),
            expected,
            "{family:?} declaring {declared}"
        );
    }
}

/// The end-of-turn marker stops generation even where the file's EOS is
/// another token (`<|endoftext|>` here): every section comes out empty and
/// nothing streams.
#[test]
fn end_of_turn_tokens_stop_generation() {
    let dir = tempfile::tempdir().unwrap();
    for (family, marker) in [
        (Family::Qwen2, "<|im_end|>"),
        (Family::Qwen3, "<|im_end|>"),
        (Family::Phi3, "<|end|>"),
        (Family::Phi3, "<|endoftext|>"),
    ] {
        let spec = Spec {
            weights: Weights::Always(id_of(family, marker)),
            ..Spec::new(family)
        };
        let path = model_file(&dir, &spec);
        let mut d = GgufDrafter::load(&path, info(), opts()).unwrap();
        let (texts, streamed) = draft(&mut d);
        assert_eq!(
            texts,
            vec![String::new(), String::new()],
            "{family:?} {marker}"
        );
        assert_eq!(streamed, 0, "{family:?} {marker}");
    }
    // Control: a token that is not a stop token is generated until the
    // loop guard cuts the run of "the" back to its first copy.
    let spec = Spec {
        weights: Weights::Always(id_of(Family::Qwen2, "Ġthe")),
        ..Spec::new(Family::Qwen2)
    };
    let path = model_file(&dir, &spec);
    let mut d = GgufDrafter::load(&path, info(), opts()).unwrap();
    let (texts, _) = draft(&mut d);
    assert_eq!(texts, vec!["the".to_string(), "the".to_string()]);
}

fn assert_bad_hyper_parameter(spec: Spec, key: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = model_file(&dir, &spec);
    let err = GgufDrafter::load(&path, info(), opts()).unwrap_err();
    match &err {
        LlmError::BadHyperParameter {
            path: p, key: k, ..
        } => {
            assert_eq!(p, &path);
            assert_eq!(k, key);
        }
        other => panic!("expected a hyper-parameter error, got {other}"),
    }
    assert!(err.to_string().contains(path.to_str().unwrap()), "{err}");
}

#[test]
fn fail_qwen2_embedding_not_divisible_by_heads() {
    let spec = Spec {
        extra: vec![("qwen2.attention.head_count".into(), Value::U32(3))],
        ..Spec::new(Family::Qwen2)
    };
    // 3 heads cannot be shared by 2 key/value heads either; that is checked first.
    assert_bad_hyper_parameter(spec, "qwen2.attention.head_count_kv");
    let spec = Spec {
        extra: vec![
            ("qwen2.attention.head_count".into(), Value::U32(3)),
            ("qwen2.attention.head_count_kv".into(), Value::U32(1)),
        ],
        ..Spec::new(Family::Qwen2)
    };
    assert_bad_hyper_parameter(spec, "qwen2.embedding_length");
}

#[test]
fn fail_qwen3_zero_kv_heads() {
    let spec = Spec {
        extra: vec![("qwen3.attention.head_count_kv".into(), Value::U32(0))],
        ..Spec::new(Family::Qwen3)
    };
    assert_bad_hyper_parameter(spec, "qwen3.attention.head_count_kv");
}

#[test]
fn fail_qwen3_missing_key_length() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-key-length.gguf");
    write_model(&path, &Spec::new(Family::Qwen3));
    let mut f = std::fs::File::open(&path).unwrap();
    let mut ct = gguf_file::Content::read(&mut f).unwrap();
    ct.metadata.remove("qwen3.attention.key_length");
    let md: Vec<(&str, &Value)> = ct.metadata.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let tensors: Vec<(String, QTensor)> = ct
        .tensor_infos
        .keys()
        .map(|n| (n.clone(), ct.tensor(&mut f, n, &Device::Cpu).unwrap()))
        .collect();
    let t: Vec<(&str, &QTensor)> = tensors.iter().map(|(n, t)| (n.as_str(), t)).collect();
    let broken = dir.path().join("broken.gguf");
    gguf_file::write(&mut std::fs::File::create(&broken).unwrap(), &md, &t).unwrap();
    let err = GgufDrafter::load(&broken, info(), opts()).unwrap_err();
    assert!(
        matches!(&err, LlmError::BadHyperParameter { key, .. } if key == "qwen3.attention.key_length"),
        "{err}"
    );
}

#[test]
fn fail_phi3_rope_dimension_not_the_head_size() {
    let spec = Spec {
        extra: vec![("phi3.rope.dimension_count".into(), Value::U32(8))],
        ..Spec::new(Family::Phi3)
    };
    assert_bad_hyper_parameter(spec, "phi3.rope.dimension_count");
}

#[test]
fn fail_phi3_missing_tensor_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    // A qwen2-shaped file that claims to be phi3: no attn_qkv tensors.
    let spec = Spec {
        extra: vec![("general.architecture".into(), Value::String("phi3".into()))],
        ..Spec::new(Family::Qwen2)
    };
    let mut spec = spec;
    spec.extra.extend([
        ("phi3.block_count".into(), Value::U32(LAYERS as u32)),
        ("phi3.embedding_length".into(), Value::U32(EMBD as u32)),
        ("phi3.feed_forward_length".into(), Value::U32(FFN as u32)),
        ("phi3.attention.head_count".into(), Value::U32(HEADS as u32)),
        (
            "phi3.attention.head_count_kv".into(),
            Value::U32(KV_HEADS as u32),
        ),
        ("phi3.context_length".into(), Value::U32(512)),
        (
            "phi3.rope.dimension_count".into(),
            Value::U32(HEAD_DIM as u32),
        ),
        (
            "phi3.attention.layer_norm_rms_epsilon".into(),
            Value::F32(1e-6),
        ),
    ]);
    let path = model_file(&dir, &spec);
    let err = GgufDrafter::load(&path, info(), opts()).unwrap_err();
    assert!(matches!(err, LlmError::Weights { .. }), "{err}");
    assert!(err.to_string().contains(path.to_str().unwrap()), "{err}");
}

#[test]
fn fail_sentencepiece_phi3_without_scores_names_the_key() {
    let spec = Spec {
        extra: vec![("tokenizer.ggml.model".into(), Value::String("llama".into()))],
        ..Spec::new(Family::Phi3)
    };
    let dir = tempfile::tempdir().unwrap();
    let path = model_file(&dir, &spec);
    let err = GgufDrafter::load(&path, info(), opts()).unwrap_err();
    assert!(err.to_string().contains("tokenizer.ggml.scores"), "{err}");
}

#[test]
fn fail_unknown_architecture_is_refused_with_the_supported_list() {
    let spec = Spec {
        extra: vec![("general.architecture".into(), Value::String("mamba".into()))],
        ..Spec::new(Family::Qwen2)
    };
    let dir = tempfile::tempdir().unwrap();
    let path = model_file(&dir, &spec);
    let err = GgufDrafter::load(&path, info(), opts()).unwrap_err();
    assert!(
        matches!(&err, LlmError::UnsupportedArchitecture(a) if a == "mamba"),
        "{err}"
    );
    let msg = err.to_string();
    for arch in ["llama", "gemma3", "qwen2", "qwen3", "phi3"] {
        assert!(msg.contains(arch), "{msg}");
    }
}

// Chat templates: the real template strings of each family.

#[test]
fn qwen25_template_renders_chatml() {
    let t = ChatTemplate::new(QWEN25_TEMPLATE, "", "<|im_end|>").unwrap();
    assert_eq!(
        t.render("Be brief.", "Hello").unwrap(),
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n"
    );
}

#[test]
fn qwen3_template_renders_chatml_without_thinking() {
    let t = ChatTemplate::new(QWEN3_TEMPLATE, "", "<|im_end|>").unwrap();
    assert_eq!(
        t.render("Be brief.", "Hello").unwrap(),
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"
    );
}

#[test]
fn phi35_template_renders_its_turns() {
    let t = ChatTemplate::new(PHI35_TEMPLATE, "<s>", "<|endoftext|>").unwrap();
    assert_eq!(
        t.render("Be brief.", "Hello").unwrap(),
        "<|system|>\nBe brief.<|end|>\n<|user|>\nHello<|end|>\n<|assistant|>\n"
    );
}

/// The template is read from the file and its special tokens come out as
/// single control-token ids.
#[test]
fn templates_from_the_file_tokenize_their_markers_as_single_ids() {
    let dir = tempfile::tempdir().unwrap();
    for (family, markers) in [
        (Family::Qwen2, &["<|im_start|>", "<|im_end|>"][..]),
        (Family::Qwen3, &["<|im_start|>", "<|im_end|>"][..]),
        (
            Family::Phi3,
            &["<|system|>", "<|user|>", "<|end|>", "<|assistant|>"][..],
        ),
    ] {
        let path = model_file(&dir, &Spec::new(family));
        let d = GgufDrafter::load(&path, info(), opts()).unwrap();
        let PromptPlan::Whole { ids } = d.plan_prompt(&transcript(), &template()).unwrap() else {
            panic!("the transcript fits one prompt");
        };
        for m in markers {
            let id = id_of(family, m);
            assert!(ids.contains(&id), "{family:?}: {m} not a single id");
        }
    }
}
