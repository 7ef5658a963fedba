//! The tokenizer, rebuilt from the GGUF metadata the way llama.cpp reads it.
//!
//! A GGUF file carries its vocabulary, merges and token types, and names its
//! pre-tokenizer (`tokenizer.ggml.pre`). We rebuild a `tokenizers::Tokenizer`
//! from those instead of using candle's `TokenizerFromGguf`, which was
//! measured wrong on SmolLM2: its byte-level pre-tokenizer adds a prefix
//! space, so every text run after a special token (`<|im_start|>user`) gained
//! a spurious space and a different id sequence than the model was trained on.
//! llama.cpp is the reference here, because it is what wrote the GGUF
//! conventions and what our token ids were checked against:
//!
//! - `gpt2` (byte-level BPE): vocabulary + merges; the pre-tokenizer regexes
//!   chosen by `tokenizer.ggml.pre` exactly as llama.cpp's `llama-vocab.cpp`
//!   does (SmolLM's splits every digit, Llama 3's groups up to three, Qwen 2's
//!   one); never a prefix space; a byte-level decoder.
//! - control tokens (type 3) are special added tokens, so `<|im_start|>` in a
//!   rendered chat prompt is one id and is never split into characters;
//!   user-defined tokens (type 4) are non-normalized added tokens.
//! - BOS is added by the post-processor only when `add_bos_token` is true.
//!
//! - `llama` (SentencePiece, as in Gemma and Phi-3): the file has scores but
//!   no merges. llama.cpp's tokenizer repeatedly joins the adjacent pair whose
//!   concatenation is the highest-scoring piece in the vocabulary; a BPE whose
//!   merges are every split of a normal piece into two normal pieces, ranked
//!   by the joined piece's score, does the same joins in the same order (the
//!   golden tests hold both to llama.cpp's ids). Spaces become `▁`, a `▁` is
//!   prepended only when `add_space_prefix` says so, and characters outside
//!   the vocabulary fall back to `<0xNN>` byte pieces.

use crate::error::LlmError;
use crate::meta;
use candle_core::quantized::gguf_file::Content;
use std::collections::HashMap;
use tokenizers::decoders::byte_fallback::ByteFallback;
use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::decoders::fuse::Fuse;
use tokenizers::decoders::sequence::Sequence as DecoderSequence;
use tokenizers::decoders::strip::Strip;
use tokenizers::decoders::DecoderWrapper;
use tokenizers::models::bpe::BPE;
use tokenizers::normalizers::prepend::Prepend;
use tokenizers::normalizers::replace::Replace;
use tokenizers::normalizers::utils::Sequence as NormalizerSequence;
use tokenizers::normalizers::NormalizerWrapper;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::processors::template::TemplateProcessing;
use tokenizers::{AddedToken, SplitDelimiterBehavior, Tokenizer};

/// llama.cpp's `llama_token_type` values in `tokenizer.ggml.token_type`.
const TOKEN_TYPE_NORMAL: u64 = 1;
const TOKEN_TYPE_CONTROL: u64 = 3;
const TOKEN_TYPE_USER_DEFINED: u64 = 4;

/// GPT-2's split regex (llama.cpp `LLAMA_VOCAB_PRE_TYPE_GPT2` and others).
const REGEX_GPT2: &str = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)";
/// Llama 3's split regex: digits in groups of up to three.
const REGEX_LLAMA3: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
/// Qwen 2's split regex: like Llama 3's but every digit alone.
const REGEX_QWEN2: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

fn split_isolated(regex: &str) -> Result<PreTokenizerWrapper, LlmError> {
    Split::new(
        SplitPattern::Regex(regex.to_string()),
        SplitDelimiterBehavior::Isolated,
        false,
    )
    .map(Into::into)
    .map_err(|e| LlmError::Tokenizer(format!("bad pre-tokenizer regex: {e}")))
}

/// Byte-level mapping without its own regex (the split before it did that)
/// and, as in llama.cpp, without a prefix space.
fn byte_level_only() -> PreTokenizerWrapper {
    ByteLevel::new(false, false, false).into()
}

/// The pre-tokenizer llama.cpp uses for `tokenizer.ggml.pre = pre`.
fn pre_tokenizer_for(pre: &str) -> Result<PreTokenizerWrapper, LlmError> {
    let seq =
        |steps: Vec<PreTokenizerWrapper>| -> PreTokenizerWrapper { Sequence::new(steps).into() };
    Ok(match pre {
        // llama.cpp: "\p{N}" then the GPT-2 regex.
        "smollm" => seq(vec![
            Digits::new(true).into(),
            split_isolated(REGEX_GPT2)?,
            byte_level_only(),
        ]),
        "llama3" | "llama-bpe" | "llama-v3" | "smaug-bpe" | "falcon3" | "pixtral" => {
            seq(vec![split_isolated(REGEX_LLAMA3)?, byte_level_only()])
        }
        "qwen2" | "deepseek-r1-qwen" | "megrez" => {
            seq(vec![split_isolated(REGEX_QWEN2)?, byte_level_only()])
        }
        // GPT-2 family, and files too old to name their pre-tokenizer.
        "gpt2" | "gpt-2" | "phi-2" | "roberta-bpe" | "jina-es" | "jina-de" | "default" => {
            seq(vec![split_isolated(REGEX_GPT2)?, byte_level_only()])
        }
        other => {
            return Err(LlmError::UnsupportedTokenizer(format!(
                "with pre-tokenizer {other:?} (known: smollm, llama-bpe, qwen2, gpt2)"
            )))
        }
    })
}

/// Builds the tokenizer a GGUF file describes (see the module docs).
pub fn tokenizer_from_gguf(ct: &Content) -> Result<Tokenizer, LlmError> {
    let model = meta::req_str(ct, "tokenizer.ggml.model")?;
    match model {
        "gpt2" => gpt2_tokenizer(ct),
        "llama" => spm_tokenizer(ct),
        other => Err(LlmError::UnsupportedTokenizer(format!("{other:?}"))),
    }
}

/// The vocabulary as a map, refusing an empty one or duplicate entries.
fn vocabulary(tokens: &[&str]) -> Result<tokenizers::models::bpe::Vocab, LlmError> {
    if tokens.is_empty() {
        return Err(meta::bad_metadata(
            "tokenizer.ggml.tokens",
            "the vocabulary is empty",
        ));
    }
    let vocab: tokenizers::models::bpe::Vocab = tokens
        .iter()
        .enumerate()
        .map(|(i, t)| (t.to_string(), i as u32))
        .collect();
    if vocab.len() != tokens.len() {
        return Err(meta::bad_metadata(
            "tokenizer.ggml.tokens",
            "the vocabulary has duplicate entries",
        ));
    }
    Ok(vocab)
}

/// The token types, one per token (all normal when the file has none).
fn token_types(ct: &Content, tokens: &[&str]) -> Result<Vec<u64>, LlmError> {
    let key = "tokenizer.ggml.token_type";
    if meta::get(ct, key).is_none() {
        return Ok(vec![TOKEN_TYPE_NORMAL; tokens.len()]);
    }
    let types = meta::req_array(ct, key)?;
    if types.len() != tokens.len() {
        return Err(meta::bad_metadata(
            key,
            format!("{} types for {} tokens", types.len(), tokens.len()),
        ));
    }
    types.iter().map(|t| meta::value_as_u64(key, t)).collect()
}

/// SentencePiece merges from the scores (see the module docs): every split
/// of a normal piece into two normal pieces, best-scoring joined piece first;
/// ties by id, then by the split's position, so the order is deterministic.
fn spm_merges(tokens: &[&str], types: &[u64], scores: &[f32]) -> Vec<(String, String)> {
    let normal: HashMap<&str, u32> = tokens
        .iter()
        .zip(types)
        .enumerate()
        .filter(|(_, (_, &ty))| ty == TOKEN_TYPE_NORMAL)
        .map(|(i, (t, _))| (*t, i as u32))
        .collect();
    let mut ranked: Vec<(f32, u32, usize, &str, &str)> = Vec::new();
    for (&piece, &id) in &normal {
        for (at, _) in piece.char_indices().skip(1) {
            let (a, b) = piece.split_at(at);
            if normal.contains_key(a) && normal.contains_key(b) {
                ranked.push((scores[id as usize], id, at, a, b));
            }
        }
    }
    ranked.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)).then(x.2.cmp(&y.2)));
    ranked
        .into_iter()
        .map(|(_, _, _, a, b)| (a.to_string(), b.to_string()))
        .collect()
}

fn spm_tokenizer(ct: &Content) -> Result<Tokenizer, LlmError> {
    let tokens = meta::req_string_array(ct, "tokenizer.ggml.tokens")?;
    let vocab = vocabulary(&tokens)?;
    let types = token_types(ct, &tokens)?;
    let scores = meta::req_f32_array(ct, "tokenizer.ggml.scores")?;
    if scores.len() != tokens.len() {
        return Err(meta::bad_metadata(
            "tokenizer.ggml.scores",
            format!("{} scores for {} tokens", scores.len(), tokens.len()),
        ));
    }
    let merges = spm_merges(&tokens, &types, &scores);
    let mut builder = BPE::builder()
        .vocab_and_merges(vocab, merges)
        .byte_fallback(true)
        .fuse_unk(true);
    let unk = meta::opt_u32(ct, "tokenizer.ggml.unknown_token_id")?
        .and_then(|id| tokens.get(id as usize));
    if let Some(unk) = unk {
        builder = builder.unk_token(unk.to_string());
    }
    let bpe = builder
        .build()
        .map_err(|e| LlmError::Tokenizer(format!("SentencePiece BPE: {e}")))?;
    let mut tokenizer = Tokenizer::new(bpe);

    // llama.cpp's default for SentencePiece files that do not say.
    let space_prefix = meta::opt_bool(ct, "tokenizer.ggml.add_space_prefix")?.unwrap_or(true);
    let replace = |from: &str, to: &str| {
        Replace::new(from, to).map_err(|e| LlmError::Tokenizer(format!("replace: {e}")))
    };
    let mut normalizers: Vec<NormalizerWrapper> = Vec::new();
    if space_prefix {
        normalizers.push(Prepend::new("▁".to_string()).into());
    }
    normalizers.push(replace(" ", "▁")?.into());
    tokenizer
        .with_normalizer(Some(NormalizerSequence::new(normalizers)))
        .map_err(|e| LlmError::Tokenizer(format!("normalizer: {e}")))?;
    let mut decoders: Vec<DecoderWrapper> = vec![
        replace("▁", " ")?.into(),
        ByteFallback::new().into(),
        Fuse::new().into(),
    ];
    if space_prefix {
        decoders.push(Strip::new(' ', 1, 0).into());
    }
    tokenizer.with_decoder(Some(DecoderSequence::new(decoders)));

    add_typed_tokens(ct, &mut tokenizer, &tokens)?;
    add_bos(ct, &mut tokenizer, &tokens)?;
    Ok(tokenizer)
}

fn gpt2_tokenizer(ct: &Content) -> Result<Tokenizer, LlmError> {
    let tokens = meta::req_string_array(ct, "tokenizer.ggml.tokens")?;
    let vocab = vocabulary(&tokens)?;
    let merges = meta::req_string_array(ct, "tokenizer.ggml.merges")?
        .into_iter()
        .enumerate()
        .map(|(i, m)| {
            m.split_once(' ')
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .ok_or_else(|| {
                    meta::bad_metadata("tokenizer.ggml.merges", format!("entry {i} has no space"))
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let bpe = BPE::builder()
        .vocab_and_merges(vocab, merges)
        .build()
        .map_err(|e| LlmError::Tokenizer(format!("BPE: {e}")))?;
    let mut tokenizer = Tokenizer::new(bpe);

    let pre = meta::opt_str(ct, "tokenizer.ggml.pre")?.unwrap_or("default");
    tokenizer.with_pre_tokenizer(Some(pre_tokenizer_for(pre)?));
    tokenizer.with_decoder(Some(ByteLevelDecoder::new(false, false, false)));

    add_typed_tokens(ct, &mut tokenizer, &tokens)?;
    add_bos(ct, &mut tokenizer, &tokens)?;
    Ok(tokenizer)
}

/// A post-processor that puts BOS first when `add_bos_token` is true.
fn add_bos(ct: &Content, tokenizer: &mut Tokenizer, tokens: &[&str]) -> Result<(), LlmError> {
    let add_bos = meta::opt_bool(ct, "tokenizer.ggml.add_bos_token")?.unwrap_or(false);
    if add_bos {
        let bos_id = meta::opt_u32(ct, "tokenizer.ggml.bos_token_id")?.ok_or_else(|| {
            LlmError::MissingMetadata {
                key: "tokenizer.ggml.bos_token_id".to_string(),
            }
        })?;
        let bos = tokens.get(bos_id as usize).ok_or_else(|| {
            meta::bad_metadata(
                "tokenizer.ggml.bos_token_id",
                "id is outside the vocabulary",
            )
        })?;
        let processor = TemplateProcessing::builder()
            .try_single(format!("{bos}:0 $A:0"))
            .and_then(|b| b.try_pair(format!("{bos}:0 $A:0 {bos}:1 $B:1")))
            .map_err(|e| LlmError::Tokenizer(format!("BOS template: {e}")))?
            .special_tokens(vec![(bos.to_string(), bos_id)])
            .build()
            .map_err(|e| LlmError::Tokenizer(format!("BOS template: {e}")))?;
        tokenizer.with_post_processor(Some(processor));
    }
    Ok(())
}

/// Control tokens become special added tokens; user-defined tokens become
/// added tokens matched on the raw text.
fn add_typed_tokens(
    ct: &Content,
    tokenizer: &mut Tokenizer,
    tokens: &[&str],
) -> Result<(), LlmError> {
    let key = "tokenizer.ggml.token_type";
    let Some(_) = meta::get(ct, key) else {
        return Ok(());
    };
    let types = meta::req_array(ct, key)?;
    if types.len() != tokens.len() {
        return Err(meta::bad_metadata(
            key,
            format!("{} types for {} tokens", types.len(), tokens.len()),
        ));
    }
    let mut control = Vec::new();
    let mut user = Vec::new();
    for (tok, ty) in tokens.iter().zip(types) {
        match meta::value_as_u64(key, ty)? {
            TOKEN_TYPE_CONTROL => control.push(AddedToken::from(tok.to_string(), true)),
            TOKEN_TYPE_USER_DEFINED => {
                user.push(AddedToken::from(tok.to_string(), false).normalized(false))
            }
            _ => {}
        }
    }
    tokenizer
        .add_special_tokens(control)
        .map_err(|e| LlmError::Tokenizer(e.to_string()))?;
    tokenizer
        .add_tokens(user)
        .map_err(|e| LlmError::Tokenizer(e.to_string()))?;
    Ok(())
}

/// Ids that end the assistant's turn: the declared EOS plus the usual
/// end-of-turn markers when the vocabulary has them.
pub(crate) fn stop_token_ids(ct: &Content, tokenizer: &Tokenizer) -> Result<Vec<u32>, LlmError> {
    let mut ids = Vec::new();
    if let Some(eos) = meta::opt_u32(ct, "tokenizer.ggml.eos_token_id")? {
        ids.push(eos);
    }
    for marker in [
        "<|im_end|>",
        "<|endoftext|>",
        "<end_of_turn>",
        "<|eot_id|>",
        "<|end|>",
    ] {
        if let Some(id) = tokenizer.token_to_id(marker) {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::quantized::gguf_file::{Value, VersionedMagic};

    /// A SentencePiece vocabulary: ids 0–2 control, then pieces with scores,
    /// then the 256 byte pieces.
    fn spm(pieces: &[(&str, f32)], space_prefix: bool) -> Tokenizer {
        let mut tokens = vec!["<unk>".to_string(), "<bos>".into(), "<eos>".into()];
        let mut types = vec![
            Value::U32(2),
            Value::U32(TOKEN_TYPE_CONTROL as u32),
            Value::U32(3),
        ];
        let mut scores = vec![Value::F32(0.0); 3];
        for (p, score) in pieces {
            tokens.push(p.to_string());
            types.push(Value::U32(TOKEN_TYPE_NORMAL as u32));
            scores.push(Value::F32(*score));
        }
        for b in 0..=255u8 {
            tokens.push(format!("<0x{b:02X}>"));
            types.push(Value::U32(6));
            scores.push(Value::F32(0.0));
        }
        let md: [(&str, Value); 7] = [
            ("tokenizer.ggml.model", Value::String("llama".into())),
            (
                "tokenizer.ggml.tokens",
                Value::Array(tokens.into_iter().map(Value::String).collect()),
            ),
            ("tokenizer.ggml.token_type", Value::Array(types)),
            ("tokenizer.ggml.scores", Value::Array(scores)),
            ("tokenizer.ggml.unknown_token_id", Value::U32(0)),
            ("tokenizer.ggml.bos_token_id", Value::U32(1)),
            ("tokenizer.ggml.add_space_prefix", Value::Bool(space_prefix)),
        ];
        let ct = Content {
            magic: VersionedMagic::GgufV3,
            metadata: md.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
            tensor_infos: Default::default(),
            tensor_data_offset: 0,
        };
        tokenizer_from_gguf(&ct).unwrap()
    }

    fn pieces(t: &Tokenizer, text: &str) -> Vec<String> {
        let enc = t.encode(text, false).unwrap();
        enc.get_ids()
            .iter()
            .map(|&id| t.id_to_token(id).unwrap())
            .collect()
    }

    const PIECES: &[(&str, f32)] = &[
        ("▁", -1.0),
        ("a", -2.0),
        ("b", -2.0),
        ("c", -2.0),
        ("ab", -3.0),
        ("bc", -0.5),
        ("▁a", -1.5),
        ("▁ab", -4.0),
    ];

    #[test]
    fn sentencepiece_joins_the_best_scoring_pair_first() {
        let t = spm(PIECES, false);
        // "abc": "bc" (-0.5) outscores "ab" (-3.0), so a + bc, not ab + c.
        assert_eq!(pieces(&t, "abc"), ["a", "bc"]);
        // Spaces are ▁; "▁a" (-1.5) then "▁ab" (-4.0).
        assert_eq!(pieces(&t, "ab ab"), ["ab", "▁ab"]);
    }

    #[test]
    fn sentencepiece_prefix_space_only_when_the_file_says_so() {
        assert_eq!(pieces(&spm(PIECES, true), "ab"), ["▁ab"]);
        assert_eq!(pieces(&spm(PIECES, false), "ab"), ["ab"]);
    }

    #[test]
    fn sentencepiece_falls_back_to_bytes_and_decodes_back() {
        let t = spm(PIECES, true);
        assert_eq!(pieces(&t, "aé"), ["▁a", "<0xC3>", "<0xA9>"]);
        let ids = t.encode("ab aé", false).unwrap().get_ids().to_vec();
        assert_eq!(t.decode(&ids, true).unwrap(), "ab aé");
    }

    #[test]
    fn fail_sentencepiece_scores_of_the_wrong_length() {
        let mut tokens = vec![Value::String("a".into()), Value::String("b".into())];
        tokens.truncate(2);
        let ct = Content {
            magic: VersionedMagic::GgufV3,
            metadata: [
                ("tokenizer.ggml.model", Value::String("llama".into())),
                ("tokenizer.ggml.tokens", Value::Array(tokens)),
                ("tokenizer.ggml.scores", Value::Array(vec![Value::F32(0.0)])),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
            tensor_infos: Default::default(),
            tensor_data_offset: 0,
        };
        let err = tokenizer_from_gguf(&ct).unwrap_err();
        assert!(err.to_string().contains("1 scores for 2 tokens"), "{err}");
    }
}
