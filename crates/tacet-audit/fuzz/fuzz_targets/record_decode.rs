//! `cargo +nightly fuzz run record_decode`: decoding never panics, and
//! whatever decodes re-encodes to exactly the same bytes (canonical form).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tacet_audit::AuditRecord;

fuzz_target!(|data: &[u8]| {
    if let Ok(record) = AuditRecord::decode(data) {
        assert_eq!(
            record.encode(),
            data,
            "decode accepted a non-canonical encoding"
        );
    }
});
