//! One function per command: read inputs, call the application layer,
//! print the result. Nothing here decides a rule.

use crate::compose::{self, SystemClock};
use crate::demo::demo;
use crate::models::models;
use crate::note::{draft, export, new_session, review_confirming, Attest};
use crate::{AuditCmd, Cli, Cmd, SessionCmd};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tacet_app::{App, Engines, ExportFormat, TemplateLibrary};
use tacet_core::ports::{Drafter, SessionStore, Transcriber};
use tacet_core::{AuditAction, AuditEvent, Role, SessionId};
use tacet_runtime::Passphrase;
use tacet_runtime::Vault;

pub fn run(cli: Cli) -> Result<ExitCode> {
    use tacet_runtime::support_log::{self as slog, Event, Outcome};
    let data_dir = compose::data_dir(cli.data_dir.clone())?;
    // From here on the process writes only into the data folder, the audit
    // anchor folder and what this command writes (see tacet-sandbox).
    let fence = tacet_runtime::fence_writes(&data_dir, &outputs(&cli.cmd));
    if let tacet_sandbox::LayerStatus::Failed(e) = &fence.status {
        eprintln!("warning: Landlock file rules not in force: {e}");
    }
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

/// The folders this command writes into besides the data folder: an
/// export's or a report's folder, a new anchor folder, the demo's vault.
fn outputs(cmd: &Cmd) -> Vec<PathBuf> {
    fn folder_of(file: &Path) -> PathBuf {
        match file.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }
    match cmd {
        Cmd::Export { out: Some(f), .. } => vec![folder_of(f)],
        Cmd::Audit {
            cmd: AuditCmd::ExportFhir { out },
        } => vec![folder_of(out)],
        Cmd::Compliance {
            cmd: crate::ComplianceCmd::Report { out, pdf },
        } => out.iter().chain(pdf).map(|f| folder_of(f)).collect(),
        Cmd::Settings {
            anchor_dir: Some(d),
            ..
        } => vec![d.clone()],
        Cmd::Demo { keep, .. } => {
            let dir = crate::demo::vault_dir(keep.clone());
            // The fence needs the folder to be there; the demo fills it.
            let _ = std::fs::create_dir_all(&dir);
            vec![dir]
        }
        _ => Vec::new(),
    }
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
                let names: Vec<&str> = ExportFormat::ALL.iter().map(|f| f.name()).collect();
                format!(
                    "unknown export format {format:?}: use one of {}",
                    names.join(", ")
                )
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

pub(crate) fn parse_id(s: &str) -> Result<SessionId> {
    s.parse::<SessionId>().with_context(|| {
        format!("{s:?} is not a session id (32 hexadecimal digits; see `tacet session list`)")
    })
}

pub(crate) fn templates(data_dir: &Path) -> Result<TemplateLibrary> {
    Ok(tacet_runtime::compose::templates(data_dir)?)
}

pub(crate) fn engines<'e>(
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
pub(crate) fn with_store(
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

pub(crate) fn require_admin(s: &dyn SessionStore) -> Result<()> {
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

/// `tacet audit verify`: the log checked, against checkpoints saved
/// outside it too (bare, or at the end of an exported note).
/// The saved checkpoints (or exported notes ending with one) given.
pub(crate) fn read_checkpoints(checkpoints: &[PathBuf]) -> Result<Vec<String>> {
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
pub(crate) fn read_chain_key() -> Result<tacet_runtime::AuditChainKey> {
    let mut line = String::new();
    let read = std::io::stdin().read_line(&mut line);
    // The line is a secret: wiped whatever the outcome.
    let line = Passphrase::new(line);
    read.context("cannot read the audit chain key from standard input")?;
    Ok(tacet_runtime::AuditChainKey::parse(line.danger_expose())?)
}

/// `tacet audit verify`: what was checked, and the outcome as the exit code.
pub(crate) fn print_verification(v: &tacet_core::ports::AuditVerification) -> ExitCode {
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
pub(crate) fn audit_checkpoint(store: &mut dyn SessionStore) -> Result<ExitCode> {
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
