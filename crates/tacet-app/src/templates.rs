//! The template library: the built-in templates (compiled in from
//! `assets/templates/`) plus any `*.toml` a practice adds to its templates
//! folder. A practice file with a built-in's id replaces it.

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

    /// Built-ins plus a practice's own template files, given as (file
    /// name, text) in the order they apply; a file with a built-in's (or an
    /// earlier file's) id replaces it. Reading the practice's folder is
    /// `tacet-runtime`'s (`compose::templates`): this layer does no file
    /// I/O.
    pub fn with_practice_files(files: &[(String, String)]) -> Result<Self, TemplateLibraryError> {
        let mut lib = Self::built_in()?;
        for (file, text) in files {
            let t = Template::from_toml(text).map_err(|source| TemplateLibraryError::Invalid {
                file: file.clone(),
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
        let diet = "id = \"diet\"\nversion = 1\nname = \"Dietitian\"\n[[sections]]\nheading = \"INTAKE\"\nguidance = \"What they eat.\"\n";
        let soap = "id = \"soap\"\nversion = 9\nname = \"Our SOAP\"\n[[sections]]\nheading = \"S\"\nguidance = \"Said.\"\n";
        let lib = TemplateLibrary::with_practice_files(&[
            ("diet.toml".into(), diet.into()),
            ("soap.toml".into(), soap.into()),
        ])
        .unwrap();
        assert!(lib.get("diet").is_some());
        assert_eq!(lib.get("soap").map(|t| t.version), Some(9));
        assert_eq!(lib.all().iter().filter(|t| t.id == "soap").count(), 1);
        let err = TemplateLibrary::with_practice_files(&[("bad.toml".into(), "id =".into())])
            .unwrap_err();
        assert!(err.to_string().contains("bad.toml"), "{err}");
    }
}
