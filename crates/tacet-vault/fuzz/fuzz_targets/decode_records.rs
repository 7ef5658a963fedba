//! Every decoder that reads bytes back from the vault must reject garbage
//! with an error, never panic: audit records, stored attestations,
//! transcripts and drafts. Run with
//! `cd crates/tacet-vault/fuzz && cargo +nightly fuzz run decode_records`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tacet_core::{Draft, SessionId, Transcript};

fuzz_target!(|data: &[u8]| {
    if let Ok(rec) = tacet_audit::AuditRecord::decode(data) {
        // What decodes must re-encode to something that decodes the same.
        let again =
            tacet_audit::AuditRecord::decode(&rec.encode()).expect("re-encoded record decodes");
        assert_eq!(again.encode(), rec.encode());
    }
    let _ = tacet_vault::decode_attestation(SessionId([0; 16]), data);
    let _ = Transcript::from_bytes(data);
    let _ = Draft::from_bytes(data);
});
