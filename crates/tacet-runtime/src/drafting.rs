//! How a note is drafted: composed from the visit's facts (the default, no
//! model needed), or composed and then reworded sentence by sentence by the
//! installed language model, each reworded sentence kept only where it
//! keeps its facts and grounds (`tacet_facts::rephrase`).

use crate::compose::{checked_llm, LLM_DRAFTER_MAX_TOKENS};
use crate::RuntimeError;
use std::sync::atomic::AtomicBool;
use tacet_core::ports::{DraftProgress, Drafter, EngineError};
use tacet_core::{Draft, Template, Transcript};
use tacet_llm::GgufDrafter;
use tacet_models::ModelStore;

/// The setting that chooses the drafting mode: `composed` (default) or
/// `rephrased`.
pub const DRAFTER_VAR: &str = "TACET_DRAFTER";

/// The drafting mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DraftMode {
    /// Sentences composed from the visit's facts, each with its evidence.
    Composed,
    /// Composed, then reworded by the installed model where the wording
    /// keeps the facts and grounds.
    Rephrased,
}

impl std::str::FromStr for DraftMode {
    type Err = RuntimeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "composed" | "" => Ok(DraftMode::Composed),
            "rephrased" => Ok(DraftMode::Rephrased),
            other => Err(RuntimeError::InvalidSetting(format!(
                "{DRAFTER_VAR}={other:?} is not a drafting mode: use composed or rephrased"
            ))),
        }
    }
}

impl DraftMode {
    pub fn name(self) -> &'static str {
        match self {
            DraftMode::Composed => "composed",
            DraftMode::Rephrased => "rephrased",
        }
    }
}

/// The drafting mode from `$TACET_DRAFTER`, else composed: on the
/// evaluation (docs/EVAL.md) composed scores above rephrasing with the
/// default model, so it is the default.
pub fn draft_mode() -> Result<DraftMode, RuntimeError> {
    match std::env::var(DRAFTER_VAR) {
        Ok(v) => v.parse(),
        Err(_) => Ok(DraftMode::Composed),
    }
}

/// The installed model as the composer's [`tacet_facts::Rewriter`].
pub struct LlmRewriter(pub GgufDrafter);

impl tacet_facts::Rewriter for LlmRewriter {
    fn rewrite(&mut self, system: &str, user: &str, cancel: &AtomicBool) -> Option<String> {
        self.0
            .complete(system, user, LLM_DRAFTER_MAX_TOKENS, cancel)
            .ok()
    }
    fn forget(&mut self) {
        self.0.forget();
    }
}

/// The drafter both front ends use: the composer, with the language model
/// loaded only when the mode rephrases.
pub struct NoteDrafter {
    rephrasing: Option<tacet_facts::RephrasingDrafter<LlmRewriter>>,
}

impl std::fmt::Debug for NoteDrafter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NoteDrafter")
            .field("mode", &self.mode())
            .field("model", &self.rephrasing.as_ref().map(|r| &r.model_id))
            .finish()
    }
}

impl NoteDrafter {
    /// The composer alone (no model).
    pub fn composed() -> Self {
        NoteDrafter { rephrasing: None }
    }

    /// The composer with `llm` rewording its sentences.
    pub fn rephrasing(llm: GgufDrafter, model_id: String, model_sha256: String) -> Self {
        NoteDrafter {
            rephrasing: Some(tacet_facts::RephrasingDrafter {
                rewriter: LlmRewriter(llm),
                model_id,
                model_sha256,
            }),
        }
    }

    pub fn mode(&self) -> DraftMode {
        if self.rephrasing.is_some() {
            DraftMode::Rephrased
        } else {
            DraftMode::Composed
        }
    }

    /// Prompt tokens the model had read before the last draft (0 for the
    /// composer, which reads no prompt).
    pub fn reused_prompt_tokens(&self) -> usize {
        self.rephrasing
            .as_ref()
            .map(|r| r.rewriter.0.reused_prompt_tokens())
            .unwrap_or(0)
    }
}

/// The drafter the settings ask for, loading the model only to rephrase.
pub fn drafter(
    store: &ModelStore,
    approved: &crate::compose::ApprovedModels,
) -> Result<NoteDrafter, RuntimeError> {
    match draft_mode()? {
        DraftMode::Composed => Ok(NoteDrafter::composed()),
        DraftMode::Rephrased => {
            let (llm, id, sha) = checked_llm(store, approved)?;
            Ok(NoteDrafter::rephrasing(llm, id, sha))
        }
    }
}

impl Drafter for NoteDrafter {
    fn draft(
        &mut self,
        transcript: &Transcript,
        template: &Template,
        progress: &mut dyn FnMut(DraftProgress<'_>),
        cancel: &AtomicBool,
    ) -> Result<Draft, EngineError> {
        match &mut self.rephrasing {
            None => tacet_facts::ComposedDrafter.draft(transcript, template, progress, cancel),
            Some(r) => r.draft(transcript, template, progress, cancel),
        }
    }

    fn forget(&mut self) {
        if let Some(r) = &mut self.rephrasing {
            r.forget();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_and_fail_with_the_choices() {
        assert_eq!(
            "composed".parse::<DraftMode>().unwrap(),
            DraftMode::Composed
        );
        assert_eq!(
            "Rephrased".parse::<DraftMode>().unwrap(),
            DraftMode::Rephrased
        );
        let e = "llm".parse::<DraftMode>().unwrap_err().to_string();
        assert!(e.contains("composed or rephrased"), "{e}");
    }

    #[test]
    fn the_composer_needs_no_model() {
        let mut drafter = NoteDrafter::composed();
        let t: Template = Template::from_toml(
            "id = \"t\"\nversion = 1\nname = \"T\"\n[[sections]]\nheading = \"PLAN\"\nguidance = \"g\"\ndraws = [\"plan\"]\n",
        )
        .unwrap();
        let d = drafter
            .draft(
                &Transcript::default(),
                &t,
                &mut |_| {},
                &AtomicBool::new(false),
            )
            .unwrap();
        assert_eq!(d.sections[0].text, tacet_facts::NOT_DISCUSSED);
        assert_eq!(drafter.reused_prompt_tokens(), 0);
    }
}
