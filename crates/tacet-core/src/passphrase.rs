//! The one rule for a new passphrase, whoever sets it (the first-run walk,
//! `tacet init`, adding a user, changing one's own passphrase) and through
//! whichever front end: at least [`MIN_CHARS`] characters and a zxcvbn
//! score of at least [`MIN_STRENGTH`]. The vault enforces it; the front
//! ends call it to say so before any key is derived.

/// The fewest characters a passphrase may have.
pub const MIN_CHARS: usize = 8;

/// The weakest zxcvbn score accepted ("somewhat guessable": more than a
/// million guesses).
pub const MIN_STRENGTH: u8 = 2;

/// How strong a new passphrase is, in words a person can act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Strength {
    /// 0 (guessed at once) to 4 (very strong), zxcvbn's score.
    pub score: u8,
    pub label: &'static str,
    /// What makes it guessable, if anything.
    pub hint: Option<String>,
}

/// The strength of `passphrase` for an account named `user` (a passphrase
/// built from the user's name is weaker).
pub fn strength(passphrase: &str, user: &str) -> Strength {
    if passphrase.is_empty() {
        return Strength {
            score: 0,
            label: "empty",
            hint: None,
        };
    }
    let e = zxcvbn::zxcvbn(passphrase, &[user, "tacet"]);
    let score = u8::from(e.score());
    let label = match score {
        0 => "very weak",
        1 => "weak",
        2 => "fair",
        3 => "good",
        _ => "strong",
    };
    let hint = e.feedback().and_then(|f| {
        f.warning()
            .map(|w| w.to_string())
            .or_else(|| f.suggestions().first().map(|s| s.to_string()))
    });
    Strength { score, label, hint }
}

/// Why a new passphrase is refused. Displayed after "The passphrase …".
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PassphraseProblem {
    #[error("needs at least {MIN_CHARS} characters")]
    TooShort,
    #[error("is too easy to guess ({label}{}): use a few unrelated words", hint.as_deref().map(|h| format!("; {h}")).unwrap_or_default())]
    Guessable {
        label: &'static str,
        hint: Option<String>,
    },
}

/// Whether `passphrase` may be set for the account `user`.
pub fn check_new(passphrase: &str, user: &str) -> Result<(), PassphraseProblem> {
    if passphrase.chars().count() < MIN_CHARS {
        return Err(PassphraseProblem::TooShort);
    }
    let s = strength(passphrase, user);
    if s.score < MIN_STRENGTH {
        return Err(PassphraseProblem::Guessable {
            label: s.label,
            hint: s.hint,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_few_unrelated_words_pass() {
        assert_eq!(check_new("otter violet canyon seven", "drlee"), Ok(()));
        assert_eq!(check_new("larch quiet tundra forty", "admin"), Ok(()));
    }

    #[test]
    fn fail_short_or_common_passphrases_are_refused_with_a_reason() {
        assert_eq!(check_new("x7#q", "drlee"), Err(PassphraseProblem::TooShort));
        let e = check_new("password1", "drlee").unwrap_err();
        assert!(matches!(e, PassphraseProblem::Guessable { .. }), "{e}");
        let text = e.to_string();
        assert!(text.starts_with("is too easy to guess"), "{text}");
        // Built from the user's own name.
        assert!(check_new("drleedrlee", "drleedrlee").is_err());
    }

    #[test]
    fn the_score_is_monotone_in_the_words_a_person_adds() {
        let weak = strength("tacet123", "drlee").score;
        let strong = strength("tacet123 marble orbit fennel", "drlee").score;
        assert!(
            weak < MIN_STRENGTH && strong >= MIN_STRENGTH,
            "{weak} {strong}"
        );
    }
}
