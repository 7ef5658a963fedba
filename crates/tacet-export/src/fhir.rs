//! The note as a FHIR R4 DocumentReference, per the US Core
//! DocumentReference profile (clinical notes).
//!
//! | element | value |
//! |---|---|
//! | `meta.profile` | US Core DocumentReference |
//! | `meta.extension` | [`CHECKPOINT_EXTENSION`]: `valueString` = the signed audit checkpoint that records this export |
//! | `masterIdentifier` | system [`NOTE_SHA256_SYSTEM`], the SHA-256 (hex) of the attested text: the hash the audit log's export and attestation records carry |
//! | `identifier` | system [`SESSION_SYSTEM`] (`urn:tacet:session`, as in the audit log's FHIR AuditEvents), the session id |
//! | `status` / `docStatus` | `current` / `final` (the note is attested) |
//! | `type` | the template's LOINC code (11506-3 progress note by default) |
//! | `category` | US Core `clinical-note` |
//! | `subject` | `Patient`, by identifier: the practice's opaque patient reference (no system: Tacet does not know the EHR's identifier system; the receiving side matches it) |
//! | `date` | the time of attestation (the note became final then; rendering is deterministic, so the same note always gives the same bytes) |
//! | `author`, `authenticator` | the attesting clinician, by display name |
//! | `description` | the template's name, id and version |
//! | `content[0].attachment` | `text/plain; charset=utf-8`, `data` = base64 of the exact attested text, `size` in bytes, `hash` = base64 of its SHA-1 (what FHIR R4 defines `Attachment.hash` to be), `title`, `creation` |
//! | `content[0].format` | IHE `urn:ihe:iti:xds:2017:mimeTypeSufficient` |
//!
//! The checkpoint sits in a `meta` extension rather than a `meta.tag`
//! because a tag's `code` may not contain line breaks and a checkpoint is
//! several lines; the URL is a Tacet URN, like the systems the audit
//! export uses. Fields are typed structs, so the JSON's key order is the
//! order below (resourceType first), whatever serde_json features the
//! build enables.

use crate::{hex, ExportError, ExportMeta};
use base64ct::{Base64, Encoding};
use serde::Serialize;
use sha1::{Digest, Sha1};
use tacet_core::time::format_instant;
use tacet_core::{AttestedNote, PatientRef};

pub const US_CORE_PROFILE: &str =
    "http://hl7.org/fhir/us/core/StructureDefinition/us-core-documentreference";
pub const US_CORE_CATEGORY_SYSTEM: &str =
    "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category";
pub const LOINC_SYSTEM: &str = "http://loinc.org";
pub const IHE_FORMAT_SYSTEM: &str = "http://ihe.net/fhir/ihe.formatcode.fhir/CodeSystem/formatcode";
/// The extension (on `meta`) that carries the audit checkpoint.
pub const CHECKPOINT_EXTENSION: &str = "urn:tacet:fhir:audit-checkpoint";
/// The identifier system of Tacet session ids (shared with the audit
/// log's FHIR AuditEvent export).
pub const SESSION_SYSTEM: &str = "urn:tacet:session";
/// The identifier system of the note's SHA-256.
pub const NOTE_SHA256_SYSTEM: &str = "urn:tacet:note-sha256";
pub const CONTENT_TYPE: &str = "text/plain; charset=utf-8";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DocumentReference<'a> {
    resource_type: &'static str,
    meta: Meta<'a>,
    master_identifier: Identifier<'a>,
    identifier: Vec<Identifier<'a>>,
    status: &'static str,
    doc_status: &'static str,
    #[serde(rename = "type")]
    type_: CodeableConcept<'a>,
    category: Vec<CodeableConcept<'a>>,
    subject: Reference<'a>,
    date: String,
    author: Vec<Reference<'a>>,
    authenticator: Reference<'a>,
    description: String,
    content: Vec<Content<'a>>,
}

#[derive(Serialize)]
struct Meta<'a> {
    profile: Vec<&'static str>,
    extension: Vec<Extension<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Extension<'a> {
    url: &'static str,
    value_string: &'a str,
}

#[derive(Serialize)]
struct Identifier<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    system: Option<&'static str>,
    value: &'a str,
}

#[derive(Serialize)]
struct Coding<'a> {
    system: &'static str,
    code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    display: Option<&'a str>,
}

#[derive(Serialize)]
struct CodeableConcept<'a> {
    coding: Vec<Coding<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<&'a str>,
}

#[derive(Serialize)]
struct Reference<'a> {
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    type_: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    identifier: Option<Identifier<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    display: Option<&'a str>,
}

#[derive(Serialize)]
struct Content<'a> {
    attachment: Attachment<'a>,
    format: Coding<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Attachment<'a> {
    content_type: &'static str,
    data: String,
    size: u64,
    hash: String,
    title: &'a str,
    creation: String,
}

/// The note as a US Core DocumentReference (pretty JSON, UTF-8).
pub fn render_fhir(
    note: &AttestedNote,
    meta: &ExportMeta,
    patient: &PatientRef,
) -> Result<Vec<u8>, ExportError> {
    let checkpoint = meta.checked_checkpoint()?;
    let patient_ref = patient.expose().trim();
    if patient_ref.is_empty() {
        return Err(ExportError::NoPatientReference);
    }
    let a = note.attestation();
    let text = note.text().as_bytes();
    let session = a.session.to_string();
    let note_sha256 = hex(&a.note_sha256);
    let attested_at = format_instant(a.attested_at_unix_ms);
    let display = meta.document_code.display();
    let version = meta
        .template_version
        .map_or(String::new(), |v| format!(" version {v}"));
    let doc = DocumentReference {
        resource_type: "DocumentReference",
        meta: Meta {
            profile: vec![US_CORE_PROFILE],
            extension: vec![Extension {
                url: CHECKPOINT_EXTENSION,
                value_string: checkpoint,
            }],
        },
        master_identifier: Identifier {
            system: Some(NOTE_SHA256_SYSTEM),
            value: &note_sha256,
        },
        identifier: vec![Identifier {
            system: Some(SESSION_SYSTEM),
            value: &session,
        }],
        status: "current",
        doc_status: "final",
        type_: CodeableConcept {
            coding: vec![Coding {
                system: LOINC_SYSTEM,
                code: &meta.document_code.code,
                display,
            }],
            text: display,
        },
        category: vec![CodeableConcept {
            coding: vec![Coding {
                system: US_CORE_CATEGORY_SYSTEM,
                code: "clinical-note",
                display: Some("Clinical Note"),
            }],
            text: None,
        }],
        subject: Reference {
            type_: Some("Patient"),
            identifier: Some(Identifier {
                system: None,
                value: patient_ref,
            }),
            display: None,
        },
        date: attested_at.clone(),
        author: vec![Reference {
            type_: None,
            identifier: None,
            display: Some(&a.reviewer.0),
        }],
        authenticator: Reference {
            type_: None,
            identifier: None,
            display: Some(&a.reviewer.0),
        },
        description: format!(
            "{} (Tacet template {}{version}), attested: \"{}\"",
            meta.template_name, meta.template_id, a.statement
        ),
        content: vec![Content {
            attachment: Attachment {
                content_type: CONTENT_TYPE,
                data: Base64::encode_string(text),
                size: text.len() as u64,
                hash: Base64::encode_string(&Sha1::digest(text)),
                title: &meta.template_name,
                creation: attested_at,
            },
            format: Coding {
                system: IHE_FORMAT_SYSTEM,
                code: "urn:ihe:iti:xds:2017:mimeTypeSufficient",
                display: Some("mimeType Sufficient"),
            },
        }],
    };
    let mut out = serde_json::to_vec_pretty(&doc).map_err(|e| ExportError::Json(e.to_string()))?;
    out.push(b'\n');
    Ok(out)
}
