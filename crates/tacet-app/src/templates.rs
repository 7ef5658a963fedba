//! The template library: the built-in templates (compiled in from
//! `assets/templates/`) plus any `*.toml` a practice adds to its templates
//! folder. A practice file with a built-in's id replaces it.

use std::path::Path;
use tacet_core::{Template, TemplateError};

const BUILT_IN: &[(&str, &str)] = &[
    (
        "soap.toml",
        include_str!("../../../assets/templates/soap.toml"),
    ),
    (
        "dap.toml",
        include_str!("../../../assets/templates/dap.toml"),
    ),
    (
        "birp.toml",
        include_str!("../../../assets/templates/birp.toml"),
    ),
    (
        "girp.toml",
        include_str!("../../../assets/templates/girp.toml"),
    ),
    ("hp.toml", include_str!("../../../assets/templates/hp.toml")),
    (
        "progress.toml",
        include_str!("../../../assets/templates/progress.toml"),
    ),
    (
        "aci-bench.toml",
        include_str!("../../../assets/templates/aci-bench.toml"),
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum TemplateLibraryError {
    #[error("template file {file}: {source}")]
    Invalid { file: String, source: TemplateError },
    #[error("could not read the templates folder {dir}: {source}")]
    Io { dir: String, source: std::io::Error },
}

#[derive(Clone, Debug)]
pub struct TemplateLibrary {
    templates: Vec<Template>,
}

impl TemplateLibrary {
    pub fn built_in() -> Result<Self, TemplateLibraryError> {
        let mut templates = Vec::new();
        for (file, text) in BUILT_IN {
            templates.push(Template::from_toml(text).map_err(|source| {
                TemplateLibraryError::Invalid {
                    file: (*file).to_string(),
                    source,
                }
            })?);
        }
        Ok(Self { templates })
    }

    /// Built-ins plus the practice's own from `dir` (absent is fine).
    pub fn with_custom_dir(dir: &Path) -> Result<Self, TemplateLibraryError> {
        let mut lib = Self::built_in()?;
        if !dir.exists() {
            return Ok(lib);
        }
        let io = |source| TemplateLibraryError::Io {
            dir: dir.display().to_string(),
            source,
        };
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .map_err(io)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        paths.sort();
        for p in paths {
            let text = std::fs::read_to_string(&p).map_err(io)?;
            let t = Template::from_toml(&text).map_err(|source| TemplateLibraryError::Invalid {
                file: p.display().to_string(),
                source,
            })?;
            lib.templates.retain(|x| x.id != t.id);
            lib.templates.push(t);
        }
        Ok(lib)
    }

    pub fn get(&self, id: &str) -> Option<&Template> {
        self.templates.iter().find(|t| t.id == id)
    }

    pub fn all(&self) -> &[Template] {
        &self.templates
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_template_parses() {
        let lib = TemplateLibrary::built_in().unwrap();
        for id in ["soap", "dap", "birp", "girp", "hp", "progress", "aci-bench"] {
            assert!(lib.get(id).is_some(), "{id}");
        }
    }

    #[test]
    fn a_practice_template_is_added_and_can_replace() {
        let dir = std::env::temp_dir().join(format!("tacet-tpl-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("diet.toml"),
            "id = \"diet\"\nversion = 1\nname = \"Dietitian\"\n[[sections]]\nheading = \"INTAKE\"\nguidance = \"What they eat.\"\n",
        )
        .unwrap();
        let lib = TemplateLibrary::with_custom_dir(&dir).unwrap();
        assert!(lib.get("diet").is_some());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
