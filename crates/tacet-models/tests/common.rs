//! Helpers shared by the integration tests.
#![allow(dead_code)]
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

use std::path::PathBuf;

/// The cached model files, or `None` (with a line saying why) to skip.
pub fn cached(rel: &str) -> Option<PathBuf> {
    let Some(root) = tacet_models::cache_root() else {
        tacet_tests::skip("neither TACET_CACHE nor HOME is set");
        return None;
    };
    let p = root.join(rel);
    if p.exists() {
        Some(p)
    } else {
        tacet_tests::skip(&format!("{} is not in the model cache", p.display()));
        None
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(tacet_core::sha256(bytes))
}

/// A small but valid GGUF v3 file: `general.architecture` = `arch`, one f32
/// tensor of four elements.
pub fn tiny_gguf(arch: &str) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(b"GGUF");
    b.extend_from_slice(&3u32.to_le_bytes());
    b.extend_from_slice(&1u64.to_le_bytes()); // tensors
    b.extend_from_slice(&2u64.to_le_bytes()); // metadata
    let kv_str = |b: &mut Vec<u8>, k: &str, v: &str| {
        b.extend_from_slice(&(k.len() as u64).to_le_bytes());
        b.extend_from_slice(k.as_bytes());
        b.extend_from_slice(&8u32.to_le_bytes());
        b.extend_from_slice(&(v.len() as u64).to_le_bytes());
        b.extend_from_slice(v.as_bytes());
    };
    kv_str(&mut b, "general.architecture", arch);
    let key = format!("{arch}.block_count");
    b.extend_from_slice(&(key.len() as u64).to_le_bytes());
    b.extend_from_slice(key.as_bytes());
    b.extend_from_slice(&4u32.to_le_bytes());
    b.extend_from_slice(&1u32.to_le_bytes());
    // tensor info
    let name = "token_embd.weight";
    b.extend_from_slice(&(name.len() as u64).to_le_bytes());
    b.extend_from_slice(name.as_bytes());
    b.extend_from_slice(&1u32.to_le_bytes());
    b.extend_from_slice(&4u64.to_le_bytes());
    b.extend_from_slice(&0u32.to_le_bytes()); // f32
    b.extend_from_slice(&0u64.to_le_bytes()); // offset
    while b.len() % 32 != 0 {
        b.push(0);
    }
    for x in [1.0f32, 2.0, 3.0, 4.0] {
        b.extend_from_slice(&x.to_le_bytes());
    }
    b
}

/// A small but valid whisper ggml file (tiny hparams, zero weights).
pub fn tiny_whisper_ggml() -> Vec<u8> {
    use tacet_models::ggml::{whisper_tensor_layout, TensorKind, WhisperHparams};
    let h = WhisperHparams {
        n_vocab: 8,
        n_audio_ctx: 4,
        n_audio_state: 32,
        n_audio_head: 2,
        n_audio_layer: 1,
        n_text_ctx: 4,
        n_text_state: 32,
        n_text_head: 2,
        n_text_layer: 1,
        n_mels: 4,
        ftype: 1,
    };
    let mut b = Vec::new();
    b.extend_from_slice(&0x6767_6d6cu32.to_le_bytes());
    for v in [8, 4, 32, 2, 1, 4, 32, 2, 1, 4, 1i32] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    b.extend_from_slice(&4i32.to_le_bytes());
    b.extend_from_slice(&201i32.to_le_bytes());
    b.extend(std::iter::repeat_n(0u8, 4 * 201 * 4));
    b.extend_from_slice(&2i32.to_le_bytes());
    for t in [b"a".as_slice(), b"bc"] {
        b.extend_from_slice(&(t.len() as i32).to_le_bytes());
        b.extend_from_slice(t);
    }
    for spec in whisper_tensor_layout(&h) {
        let ttype = spec.kind.ggml_type(1);
        b.extend_from_slice(&(spec.shape.len() as i32).to_le_bytes());
        b.extend_from_slice(&(spec.name.len() as i32).to_le_bytes());
        b.extend_from_slice(&(ttype as i32).to_le_bytes());
        for &d in spec.shape.iter().rev() {
            b.extend_from_slice(&(d as i32).to_le_bytes());
        }
        b.extend_from_slice(spec.name.as_bytes());
        let n: u64 = spec.shape.iter().product();
        let per = if ttype == 0 { 4 } else { 2 };
        let _ = TensorKind::F32;
        b.extend(std::iter::repeat_n(0u8, (n * per) as usize));
    }
    b
}
