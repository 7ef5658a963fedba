#![no_main]
//! whisper ggml checker on arbitrary bytes.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = tacet_models::ggml::check_whisper_ggml_bytes(data);
});
