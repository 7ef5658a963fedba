//! The one PDF writer in Tacet (the note export and the installation
//! report both use it): Helvetica text on A4, wrapped to the page by the
//! font's real glyph widths, paginated with "Page i of n", no images, no
//! fonts to embed, no dependency.
//!
//! The PDF standard fonts cover WinAnsiEncoding only (Latin-1 plus a few
//! typographic marks), and embedding a font would make the writer large.
//! So text is mapped to WinAnsi first: characters WinAnsi has are kept
//! (accents, `µ`, `±`, `°`, `€`, dashes, curly quotes), a few common
//! symbols are transliterated (`≥` → `>=`, `→` → `->`, Greek letters by
//! name, `β` → `beta`), and anything else becomes `?`. The writer never
//! panics on any input; [`unsupported_chars`] counts what would become `?`
//! so a caller can say so on the page (the note's PDF does). A document
//! that must carry the exact characters is the text or FHIR export.

use std::fmt::Write;

pub const PAGE_WIDTH_PT: f64 = 595.0;
pub const PAGE_HEIGHT_PT: f64 = 842.0;
pub const MARGIN_PT: f64 = 50.0;

/// How a line is set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// Helvetica 9.5 pt.
    Body,
    /// Helvetica-Bold 11 pt.
    Heading,
    /// Helvetica 8 pt (metadata, the audit checkpoint).
    Small,
}

impl Style {
    fn size_pt(self) -> f64 {
        match self {
            Style::Body => 9.5,
            Style::Heading => 11.0,
            Style::Small => 8.0,
        }
    }

    fn leading_pt(self) -> f64 {
        match self {
            Style::Body | Style::Heading => 12.5,
            Style::Small => 10.0,
        }
    }

    fn bold(self) -> bool {
        self == Style::Heading
    }
}

/// One logical line; the writer wraps it to the page width.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub style: Style,
    pub text: String,
}

impl Line {
    pub fn new(style: Style, text: impl Into<String>) -> Self {
        Self {
            style,
            text: text.into(),
        }
    }
}

/// Helvetica advance widths (1/1000 em) for ASCII 32..=126, from the
/// standard AFM.
#[rustfmt::skip]
const HELVETICA: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, // ' '..'/'
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, // '0'..'?'
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, // '@'..'O'
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, // 'P'..'_'
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, // '`'..'o'
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584, // 'p'..'~'
];

/// Helvetica-Bold advance widths for ASCII 32..=126.
#[rustfmt::skip]
const HELVETICA_BOLD: [u16; 95] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278, //
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611, //
    975, 722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778, //
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 584, 556, //
    333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611, //
    611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584, //
];

/// Width of one WinAnsi byte in 1/1000 em. Bytes above ASCII count as a
/// full em: never narrower than the glyph, so a line never overflows.
fn glyph_width(byte: u8, bold: bool) -> u16 {
    match byte {
        32..=126 => {
            let table = if bold { &HELVETICA_BOLD } else { &HELVETICA };
            table[usize::from(byte - 32)]
        }
        _ => 1000,
    }
}

fn width_pt(bytes: &[u8], style: Style) -> f64 {
    let units: u32 = bytes
        .iter()
        .map(|&b| u32::from(glyph_width(b, style.bold())))
        .sum();
    f64::from(units) * style.size_pt() / 1000.0
}

/// The WinAnsi byte for a character WinAnsi has.
fn winansi_byte(c: char) -> Option<u8> {
    let u = c as u32;
    if (0x20..0x7F).contains(&u) || (0xA0..=0xFF).contains(&u) {
        return u8::try_from(u).ok();
    }
    Some(match c {
        '€' => 0x80,
        '‚' => 0x82,
        'ƒ' => 0x83,
        '„' => 0x84,
        '…' => 0x85,
        '†' => 0x86,
        '‡' => 0x87,
        'ˆ' => 0x88,
        '‰' => 0x89,
        'Š' => 0x8A,
        '‹' => 0x8B,
        'Œ' => 0x8C,
        'Ž' => 0x8E,
        '‘' => 0x91,
        '’' => 0x92,
        '“' => 0x93,
        '”' => 0x94,
        '•' => 0x95,
        '–' => 0x96,
        '—' => 0x97,
        '˜' => 0x98,
        '™' => 0x99,
        'š' => 0x9A,
        '›' => 0x9B,
        'œ' => 0x9C,
        'ž' => 0x9E,
        'Ÿ' => 0x9F,
        'μ' => 0xB5, // Greek mu, as the micro sign
        _ => return None,
    })
}

/// An ASCII spelling for a character WinAnsi lacks, where one is clear.
fn transliterate(c: char) -> Option<&'static str> {
    Some(match c {
        '≥' => ">=",
        '≤' => "<=",
        '≠' => "!=",
        '≈' | '∼' => "~",
        '→' => "->",
        '←' => "<-",
        '↔' => "<->",
        '↑' => "up",
        '↓' => "down",
        '−' | '‐' | '‑' | '‒' => "-",
        '′' => "'",
        '″' => "\"",
        '⁄' | '∕' => "/",
        '✓' | '✔' => "yes",
        '✗' | '✘' => "no",
        'α' => "alpha",
        'β' => "beta",
        'γ' => "gamma",
        'δ' => "delta",
        'ε' => "epsilon",
        'κ' => "kappa",
        'λ' => "lambda",
        'π' => "pi",
        'σ' => "sigma",
        'τ' => "tau",
        'ω' => "omega",
        'Δ' => "Delta",
        '\u{3A9}' => "Omega",
        '\u{2126}' => "Ohm",
        '\u{2000}'..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}' => " ",
        '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' => "",
        _ => return None,
    })
}

/// Number of characters of `s` that the PDF cannot show and replaces with
/// `?` (control characters, which become spaces, are not counted).
pub fn unsupported_chars(s: &str) -> usize {
    s.chars()
        .filter(|&c| !c.is_control() && winansi_byte(c).is_none() && transliterate(c).is_none())
        .count()
}

/// `s` as WinAnsi bytes (unescaped): kept, transliterated or `?`.
pub fn to_winansi(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    for c in s.chars() {
        if c == '\t' {
            out.extend_from_slice(b"    ");
        } else if c.is_control() {
            out.push(b' ');
        } else if let Some(b) = winansi_byte(c) {
            out.push(b);
        } else if let Some(t) = transliterate(c) {
            out.extend_from_slice(t.as_bytes());
        } else {
            out.push(b'?');
        }
    }
    out
}

/// Escapes bytes for a PDF literal string.
fn escape(bytes: &[u8], out: &mut Vec<u8>) {
    for &b in bytes {
        if matches!(b, b'(' | b')' | b'\\') {
            out.push(b'\\');
        }
        out.push(b);
    }
}

/// Splits WinAnsi bytes into pieces no wider than `max_pt`: at spaces where
/// it can, inside a word where the word alone is too wide.
pub fn wrap(bytes: &[u8], style: Style, max_pt: f64) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut cur: Vec<u8> = Vec::new();
    for word in bytes.split(|&b| b == b' ') {
        let joined_pt = width_pt(&cur, style) + width_pt(b" ", style) + width_pt(word, style);
        if !cur.is_empty() && joined_pt > max_pt {
            out.push(std::mem::take(&mut cur));
        } else if !cur.is_empty() {
            cur.push(b' ');
        }
        for &b in word {
            if !cur.is_empty() && width_pt(&cur, style) + width_pt(&[b], style) > max_pt {
                out.push(std::mem::take(&mut cur));
            }
            cur.push(b);
        }
    }
    out.push(cur);
    out
}

/// The lines of each page, wrapped: (style, WinAnsi bytes).
fn paginate(lines: &[Line]) -> Vec<Vec<(Style, Vec<u8>)>> {
    let text_width_pt = PAGE_WIDTH_PT - 2.0 * MARGIN_PT;
    let text_height_pt = PAGE_HEIGHT_PT - 2.0 * MARGIN_PT;
    let mut pages = vec![Vec::new()];
    let mut used_pt = 0.0;
    for line in lines {
        for piece in wrap(&to_winansi(&line.text), line.style, text_width_pt) {
            let leading = line.style.leading_pt();
            if used_pt + leading > text_height_pt && !pages.last().is_some_and(Vec::is_empty) {
                pages.push(Vec::new());
                used_pt = 0.0;
            }
            used_pt += leading;
            if let Some(page) = pages.last_mut() {
                page.push((line.style, piece));
            }
        }
    }
    pages
}

/// How many pages `lines` take.
pub fn page_count(lines: &[Line]) -> usize {
    paginate(lines).len()
}

/// The document as PDF 1.4 bytes. Never fails: every input has a rendering.
pub fn render(title: &str, lines: &[Line]) -> Vec<u8> {
    let pages = paginate(lines);
    let n_pages = pages.len();

    // Objects: 1 catalog, 2 pages, 3 font, 4 bold font, 5 info, then per
    // page (page, content).
    let mut objects: Vec<Vec<u8>> = Vec::new();
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
    escape(&to_winansi(title), &mut info);
    info.extend_from_slice(b") /Producer (Tacet) >>");
    objects.push(info);
    for (i, page) in pages.iter().enumerate() {
        let mut content = Vec::new();
        let mut y = PAGE_HEIGHT_PT - MARGIN_PT;
        for (style, text) in page {
            let _ = write!(
                VecWriter(&mut content),
                "BT /{} {} Tf {} {:.2} Td (",
                if style.bold() { "F2" } else { "F1" },
                style.size_pt(),
                MARGIN_PT,
                y
            );
            escape(text, &mut content);
            content.extend_from_slice(b") Tj ET\n");
            y -= style.leading_pt();
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
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_WIDTH_PT} {PAGE_HEIGHT_PT}] /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents {} 0 R >>",
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

    fn body(s: &str) -> Line {
        Line::new(Style::Body, s)
    }

    #[test]
    fn a_pdf_has_its_structure() {
        let lines: Vec<Line> = (0..120).map(|i| body(&format!("line {i} (x)"))).collect();
        let pdf = render("Title", &lines);
        let s = String::from_utf8_lossy(&pdf);
        assert!(s.starts_with("%PDF-1.4") && s.trim_end().ends_with("%%EOF"));
        assert!(s.contains("(line 7 \\(x\\)) Tj"));
        // 59 lines of 12.5 pt fit in 742 pt.
        assert!(s.contains("/Count 3"));
        assert_eq!(page_count(&lines), 3);
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
    fn an_empty_document_has_one_page() {
        assert_eq!(page_count(&[]), 1);
        assert!(render("", &[]).starts_with(b"%PDF-1.4"));
    }

    #[test]
    fn long_words_wrap_within_the_page() {
        let max = PAGE_WIDTH_PT - 2.0 * MARGIN_PT;
        let w = wrap(&[b'x'; 250], Style::Body, max);
        assert!(w.len() >= 2, "{}", w.len());
        assert_eq!(w.iter().map(Vec::len).sum::<usize>(), 250);
        for piece in &w {
            assert!(width_pt(piece, Style::Body) <= max);
        }
        // Wide capitals in bold wrap sooner than narrow letters in body text.
        let caps = wrap(&[b'W'; 200], Style::Heading, max);
        let thin = wrap(&[b'i'; 200], Style::Body, max);
        assert!(caps.len() > thin.len());
    }

    #[test]
    fn words_wrap_at_spaces() {
        let text = "word ".repeat(200);
        let w = wrap(&to_winansi(text.trim_end()), Style::Body, 200.0);
        assert!(w.len() > 5);
        for piece in &w {
            assert!(!piece.starts_with(b" ") && !piece.ends_with(b" "));
            assert!(width_pt(piece, Style::Body) <= 200.0);
        }
    }

    #[test]
    fn winansi_keeps_transliterates_or_replaces() {
        assert_eq!(to_winansi("café µg ±2 °C"), b"caf\xe9 \xb5g \xb12 \xb0C");
        assert_eq!(to_winansi("— “x” €"), b"\x97 \x93x\x94 \x80");
        assert_eq!(to_winansi("≥ 5 → β"), b">= 5 -> beta");
        assert_eq!(to_winansi("日本\u{1F600}"), b"???");
        assert_eq!(unsupported_chars("日本\u{1F600} ≥ é\n"), 3);
        // C1 controls are not glyphs.
        assert_eq!(to_winansi("a\u{85}b"), b"a b");
    }

    #[test]
    fn no_input_panics() {
        let nasty = "\u{0}\u{7f}\u{9f}\u{FFFF}\u{10FFFF}(\\)\r\n\t日本語 ".repeat(300);
        let pdf = render(&nasty, &[Line::new(Style::Heading, &nasty), body(&nasty)]);
        assert!(pdf.starts_with(b"%PDF-1.4"));
    }
}
