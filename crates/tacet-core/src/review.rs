//! The review gate. AI text is a draft until a clinician attests it; the
//! only way to export is to hold an [`AttestedNote`], and the only way to get
//! one is [`AttestedNote::attest`] (a fresh attestation of exactly this text)
//! or [`AttestedNote::reopen`] (a stored attestation whose hash still matches
//! the stored text). Its fields are private, so no other code can make one:
//! export without review does not compile.

use crate::ids::{SessionId, UserName};
use crate::sha256;

/// A clinician's statement that they reviewed exactly this note text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attestation {
    pub session: SessionId,
    pub reviewer: UserName,
    /// SHA-256 of the note text the reviewer saw.
    pub note_sha256: [u8; 32],
    pub attested_at_unix_ms: u64,
    /// The statement the reviewer agreed to, verbatim.
    pub statement: String,
}

pub const ATTESTATION_STATEMENT: &str = "I have reviewed this note and it is accurate.";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum GateError {
    #[error("the note has not been reviewed: a clinician must review and attest it before it can be exported")]
    NotAttested,
    #[error("the note changed after it was attested: review and attest it again")]
    TextChanged,
    #[error("the attestation is for another session")]
    WrongSession,
    #[error("the note is empty")]
    Empty,
}

/// A note text together with the attestation that covers it.
#[derive(Clone, Debug)]
pub struct AttestedNote {
    text: String,
    attestation: Attestation,
}

impl AttestedNote {
    /// A clinician attests `text` now.
    pub fn attest(
        session: SessionId,
        text: String,
        reviewer: UserName,
        now_unix_ms: u64,
    ) -> Result<Self, GateError> {
        if text.trim().is_empty() {
            return Err(GateError::Empty);
        }
        let attestation = Attestation {
            session,
            reviewer,
            note_sha256: sha256(text.as_bytes()),
            attested_at_unix_ms: now_unix_ms,
            statement: ATTESTATION_STATEMENT.to_string(),
        };
        Ok(Self { text, attestation })
    }

    /// Re-joins a stored text and a stored attestation; refuses if the text
    /// is not exactly what was attested.
    pub fn reopen(
        session: SessionId,
        text: String,
        attestation: Option<Attestation>,
    ) -> Result<Self, GateError> {
        let attestation = attestation.ok_or(GateError::NotAttested)?;
        if attestation.session != session {
            return Err(GateError::WrongSession);
        }
        if sha256(text.as_bytes()) != attestation.note_sha256 {
            return Err(GateError::TextChanged);
        }
        Ok(Self { text, attestation })
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn attestation(&self) -> &Attestation {
        &self.attestation
    }

    pub fn session(&self) -> SessionId {
        self.attestation.session
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sid() -> SessionId {
        SessionId([1; 16])
    }

    #[test]
    fn attested_text_reopens() {
        let n =
            AttestedNote::attest(sid(), "PLAN:\nRest.\n".into(), UserName("dr".into()), 5).unwrap();
        let again =
            AttestedNote::reopen(sid(), n.text().to_string(), Some(n.attestation().clone()))
                .unwrap();
        assert_eq!(again.text(), "PLAN:\nRest.\n");
    }

    #[test]
    fn fail_reopen_without_attestation() {
        assert_eq!(
            AttestedNote::reopen(sid(), "x".into(), None).unwrap_err(),
            GateError::NotAttested
        );
    }

    #[test]
    fn fail_reopen_changed_text() {
        let n =
            AttestedNote::attest(sid(), "PLAN:\nRest.\n".into(), UserName("dr".into()), 5).unwrap();
        let err = AttestedNote::reopen(
            sid(),
            "PLAN:\nSurgery.\n".into(),
            Some(n.attestation().clone()),
        )
        .unwrap_err();
        assert_eq!(err, GateError::TextChanged);
    }

    #[test]
    fn fail_reopen_other_session() {
        let n = AttestedNote::attest(sid(), "x".into(), UserName("dr".into()), 5).unwrap();
        let err = AttestedNote::reopen(
            SessionId([2; 16]),
            "x".into(),
            Some(n.attestation().clone()),
        )
        .unwrap_err();
        assert_eq!(err, GateError::WrongSession);
    }

    #[test]
    fn fail_attest_empty() {
        assert_eq!(
            AttestedNote::attest(sid(), "  ".into(), UserName("dr".into()), 5).unwrap_err(),
            GateError::Empty
        );
    }
}
