//! The session lifecycle as a state machine. Every command that moves a
//! session is checked here first: an illegal transition is an error value,
//! not a hidden button.
//!
//! ```text
//! Created ─► Recording ─► Transcribed ─► Drafted ─► Attested ─► Exported ─► Destroyed
//!               └─ crash ─► Interrupted ─► (recover) ─► Recording
//! ```
//! Editing an attested note sends it back to `Drafted`: an attestation covers
//! exactly one text. Any state but `Destroyed` may be destroyed (retention,
//! an explicit discard).

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SessionState {
    Created,
    Recording,
    Interrupted,
    Transcribed,
    Drafted,
    Attested,
    Exported,
    Destroyed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    StartRecording,
    Interrupt,
    Recover,
    FinishTranscript,
    StoreDraft,
    Edit,
    Attest,
    Export,
    Destroy,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a session that is {from} cannot {action}")]
pub struct LifecycleError {
    pub from: SessionState,
    pub action: &'static str,
}

impl SessionState {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionState::Created => "created",
            SessionState::Recording => "recording",
            SessionState::Interrupted => "interrupted",
            SessionState::Transcribed => "transcribed",
            SessionState::Drafted => "drafted",
            SessionState::Attested => "attested",
            SessionState::Exported => "exported",
            SessionState::Destroyed => "destroyed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        use SessionState::*;
        [
            Created,
            Recording,
            Interrupted,
            Transcribed,
            Drafted,
            Attested,
            Exported,
            Destroyed,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }

    /// The state after `t`, or why `t` is not allowed now.
    pub fn apply(self, t: Transition) -> Result<SessionState, LifecycleError> {
        use SessionState::*;
        use Transition::*;
        let next = match (self, t) {
            (Created, StartRecording) => Some(Recording),
            (Recording, Interrupt) => Some(Interrupted),
            (Interrupted, Recover) => Some(Recording),
            (Recording, FinishTranscript) => Some(Transcribed),
            // Re-drafting replaces an earlier draft (and voids any attestation).
            (Transcribed | Drafted | Attested, StoreDraft) => Some(Drafted),
            (Drafted | Attested, Edit) => Some(Drafted),
            (Drafted, Attest) => Some(Attested),
            (Attested, Export) => Some(Exported),
            // A write that failed after the export was recorded (disk full,
            // a folder gone) may be retried: the note is still attested and
            // the session is destroyed only after a write succeeds.
            (Exported, Export) => Some(Exported),
            (Destroyed, Destroy) => None,
            (_, Destroy) => Some(Destroyed),
            _ => None,
        };
        next.ok_or(LifecycleError {
            from: self,
            action: t.verb(),
        })
    }
}

impl Transition {
    fn verb(self) -> &'static str {
        match self {
            Transition::StartRecording => "start recording",
            Transition::Interrupt => "be interrupted",
            Transition::Recover => "be recovered",
            Transition::FinishTranscript => "finish its transcript",
            Transition::StoreDraft => "take a draft (it needs a transcript first)",
            Transition::Edit => "be edited",
            Transition::Attest => "be attested (it needs a draft that has not been attested)",
            Transition::Export => "be exported (a clinician must review and attest the note first)",
            Transition::Destroy => "be destroyed again",
        }
    }
}

impl fmt::Display for SessionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::SessionState::*;
    use super::Transition::*;
    use super::*;

    #[test]
    fn the_happy_path_reaches_destroyed() {
        let mut s = Created;
        for t in [
            StartRecording,
            FinishTranscript,
            StoreDraft,
            Attest,
            Export,
            Destroy,
        ] {
            s = s.apply(t).unwrap();
        }
        assert_eq!(s, Destroyed);
    }

    #[test]
    fn fail_export_before_attestation() {
        let err = Drafted.apply(Export).unwrap_err();
        assert!(err.to_string().contains("review and attest"));
    }

    #[test]
    fn fail_destroy_twice() {
        assert!(Destroyed.apply(Destroy).is_err());
    }

    #[test]
    fn an_export_whose_write_failed_can_be_retried() {
        assert_eq!(Exported.apply(Export), Ok(Exported));
        assert!(
            Exported.apply(Edit).is_err(),
            "an exported note is not edited"
        );
    }

    #[test]
    fn editing_voids_the_attestation() {
        assert_eq!(Attested.apply(Edit), Ok(Drafted));
    }

    #[test]
    fn states_round_trip_through_text() {
        for s in [
            Created,
            Recording,
            Interrupted,
            Transcribed,
            Drafted,
            Attested,
            Exported,
            Destroyed,
        ] {
            assert_eq!(SessionState::parse(s.as_str()), Some(s));
        }
    }
}
