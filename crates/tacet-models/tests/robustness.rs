//! Hostile bytes never panic the parsers.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

mod common;

use proptest::prelude::*;

fn mutate(mut base: Vec<u8>, edits: &[(usize, u8)], cut: usize) -> Vec<u8> {
    if base.is_empty() {
        return base;
    }
    for &(pos, val) in edits {
        let i = pos % base.len();
        base[i] = val;
    }
    base.truncate(cut % (base.len() + 1));
    base
}

fn tiny_ct2() -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&6u32.to_le_bytes());
    let s = |b: &mut Vec<u8>, t: &str| {
        b.extend_from_slice(&((t.len() + 1) as u16).to_le_bytes());
        b.extend_from_slice(t.as_bytes());
        b.push(0);
    };
    s(&mut b, "WhisperSpec");
    b.extend_from_slice(&3u32.to_le_bytes());
    b.extend_from_slice(&1u32.to_le_bytes());
    s(&mut b, "encoder/conv1/bias");
    b.push(1);
    b.extend_from_slice(&4u32.to_le_bytes());
    b.push(4);
    b.extend_from_slice(&8u32.to_le_bytes());
    b.extend_from_slice(&[0u8; 8]);
    b.extend_from_slice(&0u32.to_le_bytes());
    b
}

#[test]
fn tiny_ct2_parses() {
    let b = tiny_ct2();
    let m = tacet_models::ct2::parse_ct2(&b).unwrap();
    assert_eq!(m.variables.len(), 1);
    assert!(tacet_models::convert::ct2_to_ggml(&b, b"{}", b"a\n<|endoftext|>\n", None).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = tacet_models::gguf::check_gguf_bytes(&bytes);
        let _ = tacet_models::ggml::check_whisper_ggml_bytes(&bytes);
        let _ = tacet_models::ct2::parse_ct2(&bytes);
    }

    #[test]
    fn mutated_gguf_never_panics(edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..8), cut in any::<usize>()) {
        let b = mutate(common::tiny_gguf("llama"), &edits, cut);
        let _ = tacet_models::gguf::check_gguf_bytes(&b);
    }

    #[test]
    fn mutated_whisper_ggml_never_panics(edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..8), cut in any::<usize>()) {
        let b = mutate(common::tiny_whisper_ggml(), &edits, cut);
        let _ = tacet_models::ggml::check_whisper_ggml_bytes(&b);
    }

    #[test]
    fn mutated_ct2_never_panics(edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..6), cut in any::<usize>()) {
        let b = mutate(tiny_ct2(), &edits, cut);
        if let Ok(m) = tacet_models::ct2::parse_ct2(&b) {
            let _ = tacet_models::convert::hparams_from_ct2(&m);
        }
        let _ = tacet_models::convert::ct2_to_ggml(&b, b"{}", b"a\n<|endoftext|>\n", None);
    }
}
