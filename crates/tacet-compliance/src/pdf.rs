//! The report as PDF. The writer is `tacet_export::pdf`, the one PDF
//! writer Tacet has (the note export uses it too): Helvetica text, wrapped,
//! paginated A4, characters outside WinAnsi transliterated or replaced.
//! This module only turns the report's Markdown into lines: headings and
//! callouts in bold, table separator rows and emphasis marks dropped.

use tacet_export::pdf::{self, Line, Style};

/// Lines from Markdown: headings (and `> **` callouts) bold, the rest body.
fn lines_from_markdown(md: &str) -> Vec<Line> {
    md.lines()
        .map(|raw| {
            let bold = raw.starts_with('#') || raw.starts_with("> **");
            let text = raw
                .trim_start_matches('#')
                .trim_start_matches("> ")
                .replace("**", "")
                .replace('`', "");
            let text = if text.starts_with("|---") {
                String::new()
            } else {
                text.trim().to_string()
            };
            Line::new(if bold { Style::Heading } else { Style::Body }, text)
        })
        .collect()
}

/// The report as PDF bytes.
pub fn render_pdf(markdown: &str, title: &str) -> Vec<u8> {
    pdf::render(title, &lines_from_markdown(markdown))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pdf_has_its_structure_and_text() {
        let md = "# Title\n\nSome text (with parentheses) and ≥ 19 MiB.\n".repeat(40);
        let pdf = render_pdf(&md, "Report");
        let s = String::from_utf8_lossy(&pdf);
        assert!(s.starts_with("%PDF-1.4") && s.trim_end().ends_with("%%EOF"));
        assert!(s.contains("\\(with parentheses\\)") && s.contains(">= 19 MiB"));
        assert!(s.contains("/Count 3"), "three pages expected");
        assert!(s.contains("(Title) Tj"), "heading marks are dropped");
        // Every xref offset points at an object header.
        let xref = s.rfind("xref\n").unwrap();
        for line in s[xref..].lines().skip(3).take_while(|l| l.ends_with(" n ")) {
            let off: usize = line[..10].parse().unwrap();
            assert!(
                s[off..].split_whitespace().nth(1) == Some("0"),
                "bad offset {off}"
            );
        }
    }

    #[test]
    fn long_words_wrap() {
        let md = "x".repeat(250);
        let s = String::from_utf8_lossy(&render_pdf(&md, "Report")).into_owned();
        assert!(
            s.matches("xxxx) Tj ET").count() >= 2,
            "the long word is split"
        );
    }

    #[test]
    fn table_separators_are_dropped() {
        let lines = lines_from_markdown("| a | b |\n|---|---|\n| 1 | 2 |");
        assert_eq!(lines[1].text, "");
        assert_eq!(lines[0].style, Style::Body);
    }
}
