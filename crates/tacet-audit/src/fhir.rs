//! Export of the log as FHIR R4 `AuditEvent` resources (NDJSON), mapped to
//! the IHE Basic Audit Log Patterns (BALP) where a pattern exists.
//!
//! References used for the mapping (checked when this was written):
//! * FHIR R4 AuditEvent and its `example-rest` (vread) example
//!   (https://hl7.org/fhir/R4/audit-event-example-vread.html): `type` is a
//!   Coding, `subtype` a list of Codings, `action` C/R/U/D/E, `recorded` an
//!   instant, `outcome` 0/4/8/12, `agent[].who.identifier`,
//!   `agent[].requestor`, `source.observer`, `source.type` from
//!   `security-source-type`, `entity[].what`, `entity[].detail[]` with a
//!   string `type` and `valueString`.
//! * BALP Delete / PatientDelete
//!   (https://profiles.ihe.net/ITI/BALP/StructureDefinition-IHE.BasicAudit.PatientDelete.html
//!   and the example `AuditEvent-ex-auditBasicDeleteNoUserReport`): type
//!   `rest` from `http://terminology.hl7.org/CodeSystem/audit-event-type`,
//!   subtype `delete` from `http://hl7.org/fhir/restful-interaction`,
//!   action `D`; Create/Read/Update follow the same shape with
//!   `create`/`read`/`update` and `C`/`R`/`U`. The entity of a clinical
//!   document there is audit-entity-type `2` (System Object) with
//!   object-role `3` (Report), which is what a session (the visit's
//!   transcript and note) is.
//! * DICOM PS3.15 A.5.3.12 User Authentication: EventID 110114 with
//!   EventTypeCode 110122 Login / 110123 Logout, the user as requestor.
//!   A.5.3.2 Audit Log Used (110101, action R), A.5.3.7 Export (110106,
//!   action R), A.5.3.9 Import (110107, action C), A.5.3.11 Security Alert
//!   (110113, action E, subtypes such as 110129 Security Configuration,
//!   110131 Software Configuration, 110137 User Security Attributes Changed)
//!   and 110100 Application Activity for the rest.
//! * Lifecycle: `entity.lifecycle` is one Coding in R4 (value set
//!   object-lifecycle-events, which draws on both ISO 21089 and the DICOM
//!   audit lifecycle). A destroyed session gets ISO 21089 `destroy`
//!   (`http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle`) on the
//!   session entity, and the destroyed session key — erased, which is what
//!   makes the ciphertexts unreadable — is a second entity with DICOM
//!   lifecycle `15` "Permanent erasure / Physical destruction"
//!   (`http://terminology.hl7.org/CodeSystem/dicom-audit-lifecycle`).
//!
//! The events do not claim BALP *profile* conformance in `meta.profile`:
//! BALP's RESTful profiles also require a client and a server agent with
//! network addresses, which a local single-machine tool does not have.
//!
//! Every event also carries the tacet action code as an extra subtype
//! coding (system [`TACET_ACTION_SYSTEM`]) so nothing is lost in the mapping.
//!
//! **No patient text can leave through this export.** The mapping never
//! copies a string it has not checked: ids and words must match a tight
//! character set (otherwise they are replaced by `sha256:` and a hash prefix
//! of the value, which still correlates without revealing it), details are
//! taken only from an allow-list of keys with hex, digit or word values, and
//! everything else is dropped.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::record::AuditRecord;
use crate::reports::iso8601_utc;

/// The code system of tacet's own action codes.
pub const TACET_ACTION_SYSTEM: &str = "urn:tacet:audit-action";
/// The identifier system of session ids.
pub const TACET_SESSION_SYSTEM: &str = "urn:tacet:session";
const DCM: &str = "http://dicom.nema.org/resources/ontology/DCM";
const EVENT_TYPE: &str = "http://terminology.hl7.org/CodeSystem/audit-event-type";
const RESTFUL: &str = "http://hl7.org/fhir/restful-interaction";
const ISO_21089: &str = "http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle";
const DICOM_LIFECYCLE: &str = "http://terminology.hl7.org/CodeSystem/dicom-audit-lifecycle";
const ENTITY_TYPE: &str = "http://terminology.hl7.org/CodeSystem/audit-entity-type";
const OBJECT_ROLE: &str = "http://terminology.hl7.org/CodeSystem/object-role";
const SOURCE_TYPE: &str = "http://terminology.hl7.org/CodeSystem/security-source-type";
const SECURITY_ROLE: &str = "http://terminology.hl7.org/CodeSystem/extra-security-role-type";

/// How one tacet action maps: event type, standard subtype, FHIR action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventMapping {
    /// (system, code, display) of `AuditEvent.type`.
    pub type_: (&'static str, &'static str, &'static str),
    /// (system, code, display) of the standard subtype, if any.
    pub subtype: Option<(&'static str, &'static str, &'static str)>,
    /// `C`, `R`, `U`, `D` or `E`.
    pub action: &'static str,
}

const APP_ACTIVITY: (&str, &str, &str) = (DCM, "110100", "Application Activity");
const AUDIT_USED: (&str, &str, &str) = (DCM, "110101", "Audit Log Used");
const EXPORT: (&str, &str, &str) = (DCM, "110106", "Export");
const IMPORT: (&str, &str, &str) = (DCM, "110107", "Import");
const SECURITY_ALERT: (&str, &str, &str) = (DCM, "110113", "Security Alert");
const USER_AUTH: (&str, &str, &str) = (DCM, "110114", "User Authentication");
const REST: (&str, &str, &str) = (EVENT_TYPE, "rest", "Restful Operation");

/// The mapping of a tacet action code (unknown codes map to Application
/// Activity with action `E`).
pub fn event_mapping(action_code: &str) -> EventMapping {
    let m = |type_, subtype, action| EventMapping {
        type_,
        subtype,
        action,
    };
    let rest = |code: &'static str, action| m(REST, Some((RESTFUL, code, code)), action);
    match action_code {
        "user.unlock" | "user.unlock_failed" => m(USER_AUTH, Some((DCM, "110122", "Login")), "E"),
        "user.added"
        | "user.roster_sealed"
        | "user.roster_refused"
        | "user.passphrase_changed"
        | "user.removed"
        | "session.cover_granted"
        | "session.cover_revoked" => m(
            SECURITY_ALERT,
            Some((DCM, "110137", "User Security Attributes Changed")),
            "E",
        ),
        "key.rotated"
        | "sandbox.overridden"
        | "session.records_sealed"
        | "session.record_refused"
        | "audit.chain_key_handed_out" => m(
            SECURITY_ALERT,
            Some((DCM, "110129", "Security Configuration")),
            "E",
        ),
        "model.imported" | "model.removed" => m(
            SECURITY_ALERT,
            Some((DCM, "110131", "Software Configuration")),
            "E",
        ),
        "session.created"
        | "session.consent"
        | "session.transcript_created"
        | "session.draft_created" => rest("create", "C"),
        "session.note_viewed" => rest("read", "R"),
        "session.note_edited" | "session.review_attested" => rest("update", "U"),
        "session.destroyed" => rest("delete", "D"),
        "session.recording_started" | "session.recording_recovered" => rest("create", "C"),
        "session.recording_stopped" => rest("update", "U"),
        "session.audio_imported" => m(IMPORT, None, "C"),
        "session.exported" | "session.export_refused" => m(EXPORT, None, "R"),
        "audit.verified" | "audit.viewed" => m(AUDIT_USED, None, "R"),
        "vault.created" => m(APP_ACTIVITY, None, "C"),
        _ => m(APP_ACTIVITY, None, "E"),
    }
}

/// FHIR outcome: 0 success, 4 minor failure (denied, or a failed login),
/// 8 serious failure.
fn outcome_code(rec: &AuditRecord) -> &'static str {
    match rec.outcome.as_str() {
        "success"
            if rec.action == "user.unlock_failed" || rec.action == "session.export_refused" =>
        {
            "4"
        }
        "success" => "0",
        "denied" => "4",
        _ => "8",
    }
}

fn coding(c: (&str, &str, &str)) -> Value {
    json!({ "system": c.0, "code": c.1, "display": c.2 })
}

/// An identifier-like string passes through; anything else becomes
/// `sha256:` and the first 16 bytes of its hash in hex.
fn safe_id(s: &str) -> String {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'@'));
    if ok {
        s.to_string()
    } else {
        format!(
            "sha256:{}",
            hex::encode(&Sha256::digest(s.as_bytes())[..16])
        )
    }
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn is_word(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 32
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-'))
}

/// The details that may be exported, each with the check its value must
/// pass: hashes, key ids, counts and enumerated words only.
fn allowed_detail(key: &str, value: &str) -> bool {
    match key {
        "model_sha256" | "destroyed_ciphertext_sha256" => is_hex(value, 64),
        "key_id" => is_hex(value, 32),
        "count" => {
            !value.is_empty() && value.len() <= 20 && value.bytes().all(|b| b.is_ascii_digit())
        }
        "trigger" | "format" | "template" => is_word(value),
        _ => false,
    }
}

/// One record as a FHIR R4 AuditEvent. `origin` names this installation
/// (the log's checkpoint origin) and becomes `source.observer`.
pub fn to_fhir_audit_event(rec: &AuditRecord, origin: &str) -> Value {
    let map = event_mapping(&rec.action);
    let mut subtype = Vec::new();
    if let Some(s) = map.subtype {
        subtype.push(coding(s));
    }
    let action_code = if is_word(&rec.action.replace('.', "_")) {
        rec.action.clone()
    } else {
        safe_id(&rec.action)
    };
    subtype.push(json!({ "system": TACET_ACTION_SYSTEM, "code": action_code }));

    let role = if is_word(&rec.role) {
        rec.role.clone()
    } else {
        safe_id(&rec.role)
    };
    let agent = json!({
        "type": { "coding": [ coding((SECURITY_ROLE, "humanuser", "human user")) ] },
        "role": [ { "coding": [ { "system": "urn:tacet:role", "code": role } ], "text": role } ],
        "who": { "identifier": { "system": "urn:tacet:user", "value": safe_id(&rec.actor) } },
        "requestor": true
    });

    let mut entities = Vec::new();
    let mut details: Vec<Value> = Vec::new();
    if let Some(h) = &rec.content_sha256 {
        details.push(json!({ "type": "sha256", "valueString": hex::encode(h) }));
    }
    let mut key_id = None;
    for (k, v) in &rec.details {
        if !allowed_detail(k, v) {
            continue;
        }
        if k == "key_id" {
            key_id = Some(v.clone());
        }
        details.push(json!({ "type": k, "valueString": v }));
    }
    let destroyed = rec.action == "session.destroyed" && rec.outcome == "success";
    if let Some(s) = &rec.session {
        let mut e = json!({
            "what": { "identifier": { "system": TACET_SESSION_SYSTEM, "value": safe_id(s) } },
            "type": coding((ENTITY_TYPE, "2", "System Object")),
            "role": coding((OBJECT_ROLE, "3", "Report")),
        });
        if destroyed {
            e["lifecycle"] = coding((ISO_21089, "destroy", "Destroy"));
        }
        if !details.is_empty() {
            e["detail"] = Value::Array(std::mem::take(&mut details));
        }
        entities.push(e);
    }
    if let Some(o) = &rec.object {
        let mut e = json!({
            "what": { "identifier": { "system": "urn:tacet:object", "value": safe_id(o) } },
            "type": coding((ENTITY_TYPE, "2", "System Object")),
        });
        if !details.is_empty() {
            e["detail"] = Value::Array(std::mem::take(&mut details));
        }
        entities.push(e);
    }
    if destroyed {
        if let Some(k) = key_id {
            entities.push(json!({
                "what": { "identifier": { "system": "urn:tacet:key", "value": k } },
                "type": coding((ENTITY_TYPE, "2", "System Object")),
                "lifecycle": coding((DICOM_LIFECYCLE, "15", "Permanent erasure / Physical destruction")),
            }));
        }
    }
    if !details.is_empty() {
        // Details without a session or object to attach to (e.g. a model
        // hash on a model.verified event without an object id).
        entities.push(json!({
            "type": coding((ENTITY_TYPE, "2", "System Object")),
            "detail": Value::Array(details),
        }));
    }

    let mut ev = json!({
        "resourceType": "AuditEvent",
        "id": format!("tacet-{}", rec.seq),
        "type": coding(map.type_),
        "subtype": subtype,
        "action": map.action,
        "recorded": iso8601_utc(rec.wall_unix_ms),
        "outcome": outcome_code(rec),
        "agent": [ agent ],
        "source": {
            "observer": { "identifier": { "value": safe_id_origin(origin) } },
            "type": [ coding((SOURCE_TYPE, "4", "Application Server")) ]
        },
    });
    if !entities.is_empty() {
        ev["entity"] = Value::Array(entities);
    }
    ev
}

/// Origins look like `tacet.local/<vault id>`: allow `/` and `:` as well.
fn safe_id_origin(s: &str) -> String {
    if !s.is_empty()
        && s.len() <= 128
        && s.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'@' | b'/' | b':')
        })
    {
        s.to_string()
    } else {
        safe_id(s)
    }
}

/// The records as NDJSON: one AuditEvent per line, each line ending `\n`.
/// About 1.5 KB per event; for a whole log prefer [`write_ndjson`].
pub fn to_ndjson(records: &[AuditRecord], origin: &str) -> String {
    let mut out = String::new();
    for r in records {
        // `Value`'s Display is compact JSON without line breaks.
        out.push_str(&to_fhir_audit_event(r, origin).to_string());
        out.push('\n');
    }
    out
}

/// [`to_ndjson`] streamed to `w` (a file, stdout), one event at a time.
pub fn write_ndjson<W: std::io::Write>(
    records: impl IntoIterator<Item = impl std::borrow::Borrow<AuditRecord>>,
    origin: &str,
    mut w: W,
) -> std::io::Result<()> {
    for r in records {
        serde_json::to_writer(&mut w, &to_fhir_audit_event(r.borrow(), origin))?;
        w.write_all(b"\n")?;
    }
    w.flush()
}
