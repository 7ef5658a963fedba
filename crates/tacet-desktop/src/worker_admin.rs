//! The admin's requests, served by the worker that owns the vault: the
//! audit log verified, checkpointed and reported, the installation report,
//! the support log saved, models verified and imported, retention and the
//! audit anchor set, consent texts, and people added, removed or given a
//! new passphrase. Each goes through `tacet-runtime` (the CLI's rules,
//! word for word); an `Err` is the one message the window shows.

use super::*;

impl Served<'_, '_> {
    /// Serves one admin request (the worker's `try_serve` hands them here).
    pub(super) fn serve_admin(&mut self, req: Request) -> Result<(), String> {
        let out = self.out;
        match req {
            Request::VerifyAudit { chain_key: None } => {
                let v = self.plain(|a| a.verify_audit(&[])).map_err(words)?;
                out.emit(Event::Verification(v));
            }
            Request::VerifyAudit {
                chain_key: Some(key),
            } => {
                let said = |e: tacet_runtime::VaultError| capitalised(&e.to_string());
                let key = tacet_runtime::AuditChainKey::parse(key.expose()).map_err(said)?;
                let v = self
                    .store
                    .verify_audit_with_chain_key(&[], &key)
                    .map_err(said)?;
                out.emit(Event::Verification(v));
            }
            Request::Deletions => {
                let d = self.plain(|a| a.deletions()).map_err(words)?;
                out.emit(Event::Deletions(d));
            }
            Request::Checkpoint => {
                let c = self.plain(|a| a.checkpoint()).map_err(words)?;
                out.emit(Event::Checkpoint(c));
            }
            Request::Models => {
                let models = compose::model_store(self.data_dir).map_err(|e| format!("{e:#}"))?;
                let list = models.list().map_err(|e| e.to_string())?;
                out.emit(Event::Models(
                    list.into_iter()
                        .map(|m| ModelRow {
                            id: m.id,
                            role: m.role.to_string(),
                            size_bytes: m.size_bytes,
                            sha256: m.sha256,
                            licence: m.licence,
                        })
                        .collect(),
                ));
            }
            Request::ComplianceReport => {
                // The same report as `tacet compliance report`: refused for a
                // clinician, the audit log verified, the reading audited.
                let report = tacet_runtime::compliance_report(
                    &mut *self.store,
                    self.data_dir,
                    &compose::SystemClock,
                )
                .map_err(|e| e.to_string())?;
                out.emit(Event::ComplianceReport {
                    markdown: report.markdown.clone(),
                    audit_verified: report.audit_verified,
                });
                self.report = Some(report);
            }
            Request::SaveCheckpoint { path } => {
                let checkpoint = self.plain(|a| a.checkpoint()).map_err(words)?;
                tacet_runtime::write_new_private_file(Path::new(&path), checkpoint.as_bytes())
                    .map_err(|e| {
                        if e.kind() == std::io::ErrorKind::AlreadyExists {
                            format!("{path} already exists; choose a new file name (a checkpoint never overwrites a file).")
                        } else {
                            format!("The checkpoint could not be saved to {path}: {e}")
                        }
                    })?;
                out.emit(Event::CheckpointSaved { path, checkpoint });
            }
            Request::SaveSupportLog { path } => {
                let bytes = slog::collect(self.data_dir)
                    .map_err(|e| format!("The support log could not be read: {e}"))?;
                tacet_runtime::write_new_private_file(Path::new(&path), &bytes).map_err(|e| {
                    if e.kind() == std::io::ErrorKind::AlreadyExists {
                        format!("{path} already exists; choose a new file name (a copy never overwrites a file).")
                    } else {
                        format!("The copy could not be saved to {path}: {e}")
                    }
                })?;
                out.emit(Event::SupportLogSaved { path });
            }
            Request::SaveComplianceReport { path, format } => {
                let report = self
                    .report
                    .as_ref()
                    .ok_or("Write the report first, then save it.")?;
                let file = match format {
                    ReportFormat::Markdown => tacet_runtime::ReportFile::Markdown,
                    ReportFormat::Pdf => tacet_runtime::ReportFile::Pdf,
                };
                report
                    .save(Path::new(&path), file)
                    .map_err(|e| e.to_string())?;
                out.emit(Event::ComplianceSaved { path, format });
            }
            Request::Retention => {
                let r = tacet_runtime::manage::retention(self.store).map_err(|e| e.to_string())?;
                out.emit(Event::Retention(retention_row(r)));
            }
            Request::SetRetention {
                retention_days,
                grace_hours,
            } => {
                // The same bounds and audit record as `tacet settings`.
                let r = tacet_runtime::manage::set_retention(
                    self.store,
                    Some(retention_days),
                    Some(grace_hours),
                )
                .map_err(|e| capitalised(&e.to_string()))?;
                out.emit(Event::Retention(retention_row(r)));
            }
            Request::SetAnchorDir { path } => {
                let r = tacet_runtime::manage::set_anchor_dir(self.store, Some(Path::new(&path)))
                    .map_err(|e| capitalised(&e.to_string()))?;
                out.emit(Event::Retention(retention_row(r)));
            }
            Request::VerifyModel { id } => {
                let models = compose::model_store(self.data_dir).map_err(|e| e.to_string())?;
                let v =
                    tacet_runtime::manage::verify_model(&models, &id).map_err(|e| e.to_string())?;
                out.emit(Event::ModelVerified {
                    id,
                    ok: v.ok(),
                    message: tacet_runtime::manage::describe_verification(&v),
                });
            }
            Request::ImportModel { path, q8_0 } => {
                // Hashing a model takes seconds: it runs here, on the
                // worker, never on the window's thread.
                let models = compose::model_store(self.data_dir).map_err(|e| e.to_string())?;
                let m = tacet_runtime::manage::import_model(
                    &mut *self.store,
                    &models,
                    Path::new(&path),
                    &tacet_runtime::ImportOptions {
                        quantize: q8_0.then_some(tacet_runtime::Quantization::Q8_0),
                        ..tacet_runtime::ImportOptions::default()
                    },
                )
                .map_err(|e| capitalised(&e.to_string()))?;
                out.emit(Event::ModelImported { id: m.id });
                let list = models.list().map_err(|e| e.to_string())?;
                out.emit(Event::Models(list.into_iter().map(model_row).collect()));
            }
            Request::ImportModelsFrom { folder } => {
                // Hashing takes seconds a file: here, never on the window's
                // thread; each file's progress goes to the window.
                let models = compose::model_store(self.data_dir).map_err(|e| e.to_string())?;
                let rows = tacet_runtime::setup::import_folder(
                    &mut *self.store,
                    &models,
                    Path::new(&folder),
                    &mut |i, n, name| {
                        if !name.is_empty() {
                            out.emit(Event::SetupProgress {
                                fraction: i as f32 / n.max(1) as f32,
                                label: format!(
                                    "Checking {name} ({} of {n}): its SHA-256 first…",
                                    i + 1
                                ),
                            });
                        }
                    },
                )
                .map_err(|e| capitalised(&e.to_string()))?;
                out.emit(Event::ModelsFolderImported(
                    rows.into_iter()
                        .map(|r| tacet_ui::backend::FolderImportRow {
                            source: r.source,
                            outcome: r.outcome.map(|m| m.id).map_err(|e| capitalised(&e)),
                        })
                        .collect(),
                ));
                let list = models.list().map_err(|e| e.to_string())?;
                out.emit(Event::Models(list.into_iter().map(model_row).collect()));
            }
            Request::ConsentTexts { practice } => {
                // The settings alone (not the audit log's last runs): this
                // is asked at every clinician's unlock.
                let r = self
                    .store
                    .settings()
                    .map_err(|e| capitalised(&e.to_string()))?;
                let c = tacet_runtime::setup::consent_texts_for(
                    &practice,
                    r.unexported_limit_ms as f64 / 86_400_000.0,
                    r.export_grace_ms as f64 / 3_600_000.0,
                )
                .map_err(|e| capitalised(&e.to_string()))?;
                out.emit(Event::ConsentTexts {
                    clause: c.clause,
                    script: c.script,
                });
            }
            Request::Users => {
                out.emit(Event::Users(users(self.store)?));
            }
            Request::AddUser {
                name,
                role,
                passphrase,
            } => {
                let pass = Passphrase::new(passphrase.expose().to_string());
                drop(passphrase);
                tacet_runtime::manage::add_user(
                    self.store,
                    &name,
                    role,
                    &pass,
                    tacet_runtime::KdfChoice::CalibratedMs(NEW_USER_KDF_MS),
                )
                .map_err(|e| capitalised(&e.to_string()))?;
                drop(pass);
                out.emit(Event::UserAdded { name, role });
                out.emit(Event::Users(users(self.store)?));
            }
            Request::RemoveUser { name } => {
                self.store
                    .remove_user(&name)
                    .map_err(|e| capitalised(&e.to_string()))?;
                out.emit(Event::UserRemoved { name });
                out.emit(Event::Users(users(self.store)?));
            }
            Request::ChangePassphrase { current, new } => {
                let (cur, new_pass) = (
                    Passphrase::new(current.expose().to_string()),
                    Passphrase::new(new.expose().to_string()),
                );
                drop((current, new));
                let session_keys = self
                    .store
                    .change_passphrase(
                        &cur,
                        &new_pass,
                        tacet_runtime::KdfChoice::CalibratedMs(NEW_USER_KDF_MS),
                    )
                    .map_err(|e| match e {
                        tacet_runtime::VaultError::BadCredentials => {
                            "The current passphrase is not right; nothing was changed.".to_string()
                        }
                        e => capitalised(&e.to_string()),
                    })?;
                drop((cur, new_pass));
                out.emit(Event::PassphraseChanged { session_keys });
            }
            other => {
                return Err(format!(
                    "The worker has no admin step for {:?}.",
                    op_of(&other)
                ))
            }
        }
        Ok(())
    }
}
