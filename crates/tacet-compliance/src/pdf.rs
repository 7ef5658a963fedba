//! A minimal PDF writer for the report: Helvetica text, wrapped, paginated
//! A4, no images, no fonts to embed, no dependency. The Markdown is turned
//! into plain lines (headings in bold); characters outside Latin-1 are
//! transliterated or replaced, since the standard fonts cover WinAnsi only.

use std::fmt::Write;

const PAGE_W_PT: f64 = 595.0;
const PAGE_H_PT: f64 = 842.0;
const MARGIN_PT: f64 = 50.0;
const BODY_SIZE_PT: f64 = 9.5;
const LEADING_PT: f64 = 12.5;

/// Characters per line at the body size (Helvetica averages ~0.5 em).
fn wrap_width_chars() -> usize {
    ((PAGE_W_PT - 2.0 * MARGIN_PT) / (BODY_SIZE_PT * 0.5)) as usize
}

fn to_winansi(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '—' | '–' => out.push(b'-'),
            '→' => out.extend_from_slice(b"->"),
            '≥' => out.extend_from_slice(b">="),
            '≤' => out.extend_from_slice(b"<="),
            '‘' | '’' => out.push(b'\''),
            '“' | '”' => out.push(b'"'),
            '…' => out.extend_from_slice(b"..."),
            '(' | ')' | '\\' => {
                out.push(b'\\');
                out.push(c as u8);
            }
            c if (c as u32) < 0x20 => out.push(b' '),
            c if (c as u32) < 0x100 => out.push(c as u32 as u8),
            _ => out.push(b'?'),
        }
    }
    out
}

fn wrap(line: &str, width: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for word in line.split(' ') {
        if !cur.is_empty() && cur.chars().count() + 1 + word.chars().count() > width {
            out.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(word);
        while cur.chars().count() > width {
            let head: String = cur.chars().take(width).collect();
            let tail: String = cur.chars().skip(width).collect();
            out.push(head);
            cur = tail;
        }
    }
    out.push(cur);
    out
}

/// (bold, text) lines from Markdown.
fn lines_from_markdown(md: &str) -> Vec<(bool, String)> {
    let mut out = Vec::new();
    for raw in md.lines() {
        let bold = raw.starts_with('#') || raw.starts_with("> **");
        let text = raw
            .trim_start_matches('#')
            .trim_start_matches("> ")
            .replace("**", "")
            .replace('`', "");
        let text = if text.starts_with("|---") {
            String::new()
        } else {
            text
        };
        for l in wrap(text.trim_end(), wrap_width_chars()) {
            out.push((bold, l));
        }
    }
    out
}

/// The report as PDF bytes.
pub fn render_pdf(markdown: &str, title: &str) -> Vec<u8> {
    let lines = lines_from_markdown(markdown);
    let per_page = ((PAGE_H_PT - 2.0 * MARGIN_PT) / LEADING_PT) as usize;
    let pages: Vec<&[(bool, String)]> = if lines.is_empty() {
        vec![&[][..]]
    } else {
        lines.chunks(per_page).collect()
    };

    // Objects: 1 catalog, 2 pages, 3 font, 4 bold font, 5 info, then per page (page, content).
    let mut objects: Vec<Vec<u8>> = Vec::new();
    let n_pages = pages.len();
    let page_obj = |i: usize| 6 + 2 * i;
    let kids: Vec<String> = (0..n_pages)
        .map(|i| format!("{} 0 R", page_obj(i)))
        .collect();
    objects.push(b"<< /Type /Catalog /Pages 2 0 R >>".to_vec());
    objects.push(
        format!(
            "<< /Type /Pages /Kids [{}] /Count {} >>",
            kids.join(" "),
            n_pages
        )
        .into_bytes(),
    );
    objects.push(
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
            .to_vec(),
    );
    objects.push(
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>"
            .to_vec(),
    );
    let mut info = b"<< /Title (".to_vec();
    info.extend(to_winansi(title));
    info.extend_from_slice(b") /Producer (Tacet) >>");
    objects.push(info);
    for (i, page) in pages.iter().enumerate() {
        let mut content = Vec::new();
        let mut y = PAGE_H_PT - MARGIN_PT;
        for (bold, text) in page.iter() {
            let _ = write!(
                VecWriter(&mut content),
                "BT /{} {} Tf {} {} Td (",
                if *bold { "F2" } else { "F1" },
                if *bold {
                    BODY_SIZE_PT + 1.5
                } else {
                    BODY_SIZE_PT
                },
                MARGIN_PT,
                y
            );
            content.extend(to_winansi(text));
            content.extend_from_slice(b") Tj ET\n");
            y -= LEADING_PT;
        }
        let _ = writeln!(
            VecWriter(&mut content),
            "BT /F1 8 Tf {} {} Td (Page {} of {}) Tj ET",
            MARGIN_PT,
            MARGIN_PT / 2.0,
            i + 1,
            n_pages
        );
        objects.push(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_W_PT} {PAGE_H_PT}] /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents {} 0 R >>",
                page_obj(i) + 1
            )
            .into_bytes(),
        );
        let mut stream = format!("<< /Length {} >>\nstream\n", content.len()).into_bytes();
        stream.extend(content);
        stream.extend_from_slice(b"\nendstream");
        objects.push(stream);
    }

    let mut pdf = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, obj) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend(format!("{} 0 obj\n", i + 1).into_bytes());
        pdf.extend_from_slice(obj);
        pdf.extend_from_slice(b"\nendobj\n");
    }
    let xref_at = pdf.len();
    pdf.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).into_bytes());
    for off in offsets {
        pdf.extend(format!("{off:010} 00000 n \n").into_bytes());
    }
    pdf.extend(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R /Info 5 0 R >>\nstartxref\n{}\n%%EOF\n",
            objects.len() + 1,
            xref_at
        )
        .into_bytes(),
    );
    pdf
}

/// `fmt::Write` over a byte vector (the content is ASCII we format).
struct VecWriter<'a>(&'a mut Vec<u8>);

impl Write for VecWriter<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
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
        let w = wrap(&"x".repeat(250), 100);
        assert_eq!(w.len(), 3);
    }
}
