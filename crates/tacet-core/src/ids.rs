//! Identifiers. Only opaque ids ever appear in clear (in the audit log, in
//! file names, on screen for destroyed sessions); anything that could name a
//! patient is a [`PatientRef`], which never prints itself.

use std::fmt;
use std::str::FromStr;

/// A session's opaque id: 16 random bytes, shown as 32 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(pub [u8; 16]);

impl SessionId {
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
    /// A short form for people: the first 8 hex digits.
    pub fn short(&self) -> String {
        hex::encode(&self.0[..4])
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({self})")
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a session id is 32 hexadecimal digits")]
pub struct BadSessionId;

impl FromStr for SessionId {
    type Err = BadSessionId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bytes = hex::decode(s.trim()).map_err(|_| BadSessionId)?;
        let arr: [u8; 16] = bytes.try_into().map_err(|_| BadSessionId)?;
        Ok(Self(arr))
    }
}

/// The practice's own reference for a patient (a chart number, initials…).
/// Treated as patient data: sealed in the vault, never logged, never printed
/// by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct PatientRef(String);

impl PatientRef {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    /// The reference itself, for the few places that must show it to the
    /// clinician who owns the session.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PatientRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PatientRef(<redacted>)")
    }
}

/// A user's login name. Staff names are not patient data.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserName(pub String);

impl fmt::Display for UserName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Records sessions and reviews their notes; sees only their own sessions.
    Clinician,
    /// Manages users, models, retention and the audit log; never decrypts
    /// patient data.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Clinician => "clinician",
            Role::Admin => "admin",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "clinician" => Some(Role::Clinician),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    /// Who may enrol whom, the one rule every front end and the vault read:
    /// admins add admins; clinicians add clinicians (a new clinician's key
    /// is wrapped from the data key only a clinician holds). Neither role
    /// creates the other, so a clinician cannot make an admin account and an
    /// admin cannot make a clinician who would then read patient data.
    pub fn may_add(self, new: Role) -> bool {
        self == new
    }

    /// Why [`Role::may_add`] says no, in words for the person refused.
    pub fn may_not_add_reason(self, new: Role) -> &'static str {
        match (self, new) {
            (Role::Admin, Role::Clinician) => {
                "a new clinician is enrolled by an existing clinician, who holds the data key"
            }
            (Role::Clinician, Role::Admin) => "only an admin can add an admin",
            _ => "",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who did something: a user and the role they acted in, or the system
/// itself (retention runs, recovery at start).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    pub user: UserName,
    pub role: Role,
}

impl Actor {
    pub fn new(user: impl Into<String>, role: Role) -> Self {
        Self {
            user: UserName(user.into()),
            role,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_id_round_trips_through_hex() {
        let id = SessionId([7; 16]);
        assert_eq!(id.to_string().parse::<SessionId>(), Ok(id));
    }

    #[test]
    fn fail_session_id_of_wrong_length() {
        assert_eq!("abcd".parse::<SessionId>(), Err(BadSessionId));
    }

    #[test]
    fn patient_ref_never_debug_prints() {
        let p = PatientRef::new("Jane Doe 1970-01-01");
        assert!(!format!("{p:?}").contains("Jane"));
    }
}
