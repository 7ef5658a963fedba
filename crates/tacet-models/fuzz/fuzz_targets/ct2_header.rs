#![no_main]
//! CTranslate2 `model.bin` parser and the converter on arbitrary bytes.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(model) = tacet_models::ct2::parse_ct2(data) {
        let _ = tacet_models::convert::hparams_from_ct2(&model);
    }
    let _ = tacet_models::convert::ct2_to_ggml(data, b"{}", b"a\n<|endoftext|>\n", None);
});
