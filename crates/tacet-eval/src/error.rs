//! Errors of the evaluation harness. Each names the file and the problem;
//! none carries dialogue or note text.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a readable CSV file: {problem}")]
    Csv { path: PathBuf, problem: String },
    #[error(
        "{path} has no {column:?} column (ACI-Bench format: dataset,encounter_id,dialogue,note)"
    )]
    MissingColumn { path: PathBuf, column: &'static str },
    #[error("{path}: record {record} (encounter {encounter_id:?}) has no dialogue turns")]
    EmptyDialogue {
        path: PathBuf,
        record: usize,
        encounter_id: String,
    },
    #[error("{path}: record {record} (encounter {encounter_id:?}) has an empty reference note")]
    EmptyNote {
        path: PathBuf,
        record: usize,
        encounter_id: String,
    },
    #[error("the built-in aci-bench template is invalid: {0}")]
    Template(#[from] tacet_core::TemplateError),
    #[error("cannot set up the ROUGE scorer: {0}")]
    Rouge(String),
    #[error("drafting encounter {encounter_id:?} failed: {problem}")]
    Draft {
        encounter_id: String,
        problem: String,
    },
}
