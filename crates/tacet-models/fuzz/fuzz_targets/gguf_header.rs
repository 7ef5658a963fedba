#![no_main]
//! GGUF header checker on arbitrary bytes: must never panic or allocate
//! from a header's claims.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = tacet_models::gguf::check_gguf_bytes(data);
});
