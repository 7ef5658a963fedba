//! `cargo +nightly fuzz run open_checkpoint`: parsing signed notes
//! (checkpoints and prune notes) and verifier keys never panics, whatever
//! the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tacet_audit::{open_checkpoint, open_prune, parse_vkey, VerifierKey};

// The signed-note spec's example key, so the fuzzer can reach signature
// checking with a name and key hash it can discover from the seed corpus.
const VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(key) = parse_vkey(VKEY) {
        let _ = open_checkpoint(text, &key);
        let _ = open_prune(text, &key);
    }
    let fixed = VerifierKey {
        name: "tacet-audit".into(),
        public: [0x42; 32],
    };
    let _ = open_checkpoint(text, &fixed);
    let _ = open_prune(text, &fixed);
    if let Ok(key) = parse_vkey(text) {
        assert_eq!(parse_vkey(&key.to_vkey_string()), Ok(key));
    }
});
