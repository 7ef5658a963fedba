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
//! SentencePiece (`llama`) vocabularies (Gemma) are refused with a clear error
//! for now: they need merges derived from the scores, byte fallback and `▁`
//! replacement.

use crate::error::LlmError;
use crate::meta;
use candle_core::quantized::gguf_file::Content;
use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::BPE;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::processors::template::TemplateProcessing;
use tokenizers::{AddedToken, SplitDelimiterBehavior, Tokenizer};

/// llama.cpp's `llama_token_type` values in `tokenizer.ggml.token_type`.
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
        "llama" => Err(LlmError::UnsupportedTokenizer(
            "\"llama\" (SentencePiece, e.g. Gemma) is not implemented yet".to_string(),
        )),
        other => Err(LlmError::UnsupportedTokenizer(format!("{other:?}"))),
    }
}

fn gpt2_tokenizer(ct: &Content) -> Result<Tokenizer, LlmError> {
    let tokens = meta::req_string_array(ct, "tokenizer.ggml.tokens")?;
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
    Ok(tokenizer)
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
