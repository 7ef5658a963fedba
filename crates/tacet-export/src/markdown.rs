//! The note as Markdown, for the practice systems and editors that take it
//! (and to read on any computer): the template's name as the title, each
//! section's heading as a Markdown heading, the attested text line for
//! line with Markdown's own characters escaped so that nothing in a
//! clinician's words turns into formatting, then who attested it and when,
//! the note's SHA-256, and the audit checkpoint exactly as the text export
//! ends (so `tacet audit verify --checkpoint note.md` reads it the same
//! way).

use crate::{format_utc_minutes, hex, is_heading, ExportError, ExportMeta, CHECKPOINT_INTRO};
use tacet_core::AttestedNote;

/// Characters Markdown could read as formatting anywhere in a line; each
/// is written with a backslash before it (CommonMark's escape for ASCII
/// punctuation), which a renderer shows as the character alone.
const ESCAPED: &[char] = &['\\', '`', '*', '_', '[', ']', '<', '>', '#', '&', '|', '~'];

/// `s` with Markdown's formatting characters escaped, and a line that
/// would start a list, a quote or a rule kept as text.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if ESCAPED.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
    // A line starting "- ", "+ ", "1. " or "1) " is a list item, "=" or
    // "-" runs are headings or rules: the first character escaped keeps
    // it text.
    let starts_block = out.starts_with(['-', '+', '='])
        || out.split_once(['.', ')']).is_some_and(|(n, rest)| {
            !n.is_empty()
                && n.chars().all(|c| c.is_ascii_digit())
                && (rest.is_empty() || rest.starts_with(' '))
        });
    if starts_block {
        let digits = out.chars().take_while(char::is_ascii_digit).count();
        if digits > 0 {
            out.insert(digits, '\\');
        } else {
            out.insert(0, '\\');
        }
    }
    out
}

/// The attested note as Markdown (see the module's docs).
pub fn render_markdown(note: &AttestedNote, meta: &ExportMeta) -> Result<String, ExportError> {
    let checkpoint = meta.checked_checkpoint()?;
    let a = note.attestation();
    let mut out = format!("# {}\n\n", escape(&meta.template_name));
    for line in note.text().lines() {
        let bare = line.trim_end();
        match bare
            .strip_suffix(':')
            .filter(|h| is_heading(h, &meta.headings))
        {
            Some(heading) => {
                out.push_str("## ");
                out.push_str(&escape(heading));
                out.push('\n');
            }
            None if bare.trim().is_empty() => out.push('\n'),
            // Two spaces: a hard line break, so lines stay lines.
            None => {
                out.push_str(&escape(bare));
                out.push_str("  \n");
            }
        }
    }
    let version = meta
        .template_version
        .map_or(String::new(), |v| format!(" v{v}"));
    out.push_str(&format!(
        "\nAttested by {} at {}: \"{}\"  \nNote SHA-256 `{}`  \nTacet session {}, template {}{version}\n",
        escape(&a.reviewer.to_string()),
        format_utc_minutes(a.attested_at_unix_ms),
        escape(&a.statement),
        hex(&a.note_sha256),
        a.session,
        escape(&meta.template_id),
    ));
    out.push_str(CHECKPOINT_INTRO);
    out.push_str(checkpoint);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a renderer shows for escaped text: each backslash-escaped
    /// character as itself.
    fn unescape(s: &str) -> String {
        let mut out = String::new();
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => out.extend(chars.next()),
                c => out.push(c),
            }
        }
        out
    }

    #[test]
    fn formatting_characters_in_a_clinicians_words_stay_text() {
        for s in [
            "BP 120/80 *after* rest; pain 7/10 <worse> at night",
            "# not a heading",
            "- not a list",
            "1. not a numbered list",
            "12) nor this",
            "=== nor a heading underline",
            "a_b [link](x) `code` ~~struck~~ | table & co \\ back",
            "Plain words stay as they are.",
        ] {
            let e = escape(s);
            assert_eq!(unescape(&e), s, "{e}");
        }
        assert_eq!(escape("# x"), "\\# x");
        assert_eq!(escape("- x"), "\\- x");
        assert_eq!(escape("1. x"), "1\\. x");
        assert_eq!(escape("12) x"), "12\\) x");
        assert_eq!(escape("Plain words, 81 mg."), "Plain words, 81 mg.");
        assert_eq!(escape("3.5 cm lesion"), "3.5 cm lesion");
    }
}
