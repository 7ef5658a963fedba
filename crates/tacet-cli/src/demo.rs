//! `tacet demo`: the whole mission on the demo visit in a throwaway vault,
//! step by step, as a person would run it (demo passphrases; a real vault
//! asks for them).

use crate::compose::SystemClock;
use crate::note::{draft, export, new_session, review};
use crate::run::{engines, print_verification, templates, unlock};
use anyhow::{bail, Result};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use tacet_app::{App, ExportFormat, TemplateLibrary};
use tacet_core::ports::SessionStore;
use tacet_core::SessionId;
use tacet_runtime::Passphrase;
use tacet_runtime::Vault;

/// The demo visit: the source tree's copy when run from it, else the one
/// the Debian package installs.
pub(crate) fn demo_audio() -> PathBuf {
    let here = PathBuf::from("assets/demo/visit.wav");
    let installed = PathBuf::from("/usr/share/tacet/demo/visit.wav");
    if !here.exists() && installed.exists() {
        installed
    } else {
        here
    }
}

/// Where the demo's vault goes: `--keep`'s folder, else a new one in the
/// temporary folder, named by the process.
pub(crate) fn vault_dir(keep: Option<PathBuf>) -> PathBuf {
    keep.unwrap_or_else(|| std::env::temp_dir().join(format!("tacet-demo-{}", std::process::id())))
}

pub(crate) fn demo(
    audio: Option<PathBuf>,
    keep: Option<PathBuf>,
    template: &str,
) -> Result<ExitCode> {
    let audio = audio.unwrap_or_else(demo_audio);
    if !audio.exists() {
        bail!(
            "the demo recording {} is missing (run from the repository root, or pass --audio)",
            audio.display()
        );
    }
    let dir = vault_dir(keep);
    if Vault::exists(&dir) {
        bail!(
            "{} already holds a vault; choose another --keep directory",
            dir.display()
        );
    }
    step("1. Create a vault with a demo admin and clinician (demo passphrases; real ones are asked for)");
    let demo = tacet_runtime::setup::create_demo_vault(&dir)?;
    // A practice's admin keeps this outside the computer; the demo keeps it
    // for step 8.
    let chain_key = demo.created.chain_key;
    println!("vault: {}", dir.display());

    step("2. Admin imports the default models (SHA-256 verified before anything parses them)");
    for m in &demo.models {
        println!(
            "imported {:<28} {} {:>6.1} MB sha256 {}",
            m.id,
            m.role,
            m.size_bytes as f64 / 1e6,
            m.sha256
        );
    }
    let (admin_name, admin_pass) = tacet_runtime::setup::DEMO_ADMIN;
    let (clinician_name, clinician_pass) = tacet_runtime::setup::DEMO_CLINICIAN;
    let ap = Passphrase::new(admin_pass.into());
    let cp = Passphrase::new(clinician_pass.into());
    let mut vault = Vault::open(&dir)?;

    let mut clin = unlock(&mut vault, clinician_name, &cp)?;
    step(&format!(
        "3. Clinician starts a session from {} and transcribes it locally",
        audio.display()
    ));
    let id = new_session(&dir, &mut clin, &audio, template, "demo-patient-0001")?;

    step("4. Draft the note: facts read from the transcript, each sentence with its evidence");
    draft(&dir, &mut clin, id)?;

    step("5. Try to export before review: the gate refuses");
    match export(&mut clin, id, None, ExportFormat::Text, &templates(&dir)?) {
        Ok(_) => bail!("export without review succeeded: this must never happen"),
        Err(e) => println!("refused as it must be: {e}"),
    }

    step("6. Clinician reviews and attests the note");
    review(&mut clin, id, false, None, None)?;
    // Flags on the note's content would stop the demo here. What may be
    // left are words the recogniser was unsure of: a clinician plays those
    // moments back before signing, which the demo cannot, so it says so and
    // accepts exactly those.
    let unsure = demo_unsure_words_only(&mut clin, id)?;
    if unsure > 0 {
        println!(
            "\n{unsure} flag(s) remain, each a word the recogniser was unsure of (not a fact the draft got wrong). A clinician plays those moments back before signing; the demo accepts them, saying so."
        );
        review(
            &mut clin,
            id,
            true,
            None,
            Some("demo: the unsure words were checked against the audio"),
        )?;
    } else {
        review(&mut clin, id, true, None, None)?;
    }

    step("7. Export (stdout), then the session is destroyed");
    export(&mut clin, id, None, ExportFormat::Text, &templates(&dir)?)?;
    std::io::stdout().flush().ok();
    std::io::stderr().flush().ok();
    drop(clin);

    step("8. Admin reads the deletion log and verifies the audit trail, every chain tag with the chain key kept at step 1");
    let mut admin = unlock(&mut vault, admin_name, &ap)?;
    crate::admin::deletions(&mut admin)?;
    let code = print_verification(&admin.verify_audit_with_chain_key(&[], &chain_key)?);
    drop(admin);
    drop(vault);
    println!(
        "\nDemo vault kept at {} (delete it when done).",
        dir.display()
    );
    Ok(code)
}

/// The demo's unresolved flags when every one is a low-confidence word
/// (their count); an error when any flag is about the note's content.
pub(crate) fn demo_unsure_words_only(store: &mut dyn SessionStore, id: SessionId) -> Result<usize> {
    let lib = TemplateLibrary::built_in()?;
    let clock = SystemClock;
    let mut e = engines(None, None, &lib, &clock);
    let g = App::new(store, &mut e).grounding(id)?;
    let open: Vec<&tacet_app::Flag> = g
        .sentences
        .iter()
        .flat_map(|s| &s.flags)
        .filter(|f| f.resolution.is_none())
        .collect();
    if let Some(f) = open
        .iter()
        .find(|f| f.kind != tacet_app::FlagKind::LowConfidenceSource)
    {
        bail!(
            "the demo's draft has a {} flag: the composed note contradicts its transcript",
            f.kind.label()
        );
    }
    Ok(open.len())
}

pub(crate) fn step(s: &str) {
    let _ = std::io::stderr().flush();
    println!("\n=== {s}");
}
