#![no_main]
//! A practice's own template file (`*.toml` in its templates folder) is
//! outside bytes: parsing never panics, and a template that parses has at
//! least one section, each with a heading.

use libfuzzer_sys::fuzz_target;
use tacet_core::Template;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(template) = Template::from_toml(text) {
        assert!(!template.sections.is_empty(), "a template without sections was accepted");
        for section in &template.sections {
            assert!(!section.heading.trim().is_empty(), "a section without a heading was accepted");
        }
    }
});
