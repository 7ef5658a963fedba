//! Chat prompts: the model's own Jinja chat template, rendered with minijinja.
//!
//! Instruct models only follow instructions wrapped the way they were
//! trained, and the GGUF file carries that wrapping as
//! `tokenizer.chat_template`. We render it the way Hugging Face transformers
//! does (`trim_blocks`, `lstrip_blocks`, Python string methods through
//! minijinja-contrib's pycompat, `raise_exception`), with `messages`,
//! `add_generation_prompt = true`, `bos_token`, `eos_token` and
//! `enable_thinking = false` (Qwen3's templates then write an empty think
//! block, its documented way to answer without reasoning first; other
//! templates ignore the variable). A file without a template gets the turn
//! markers its vocabulary has: Gemma's `<start_of_turn>` when present (base
//! Gemma 3 files carry the markers but no template), else ChatML, the most
//! common convention for small models.
//!
//! Some templates refuse a `system` message (older Gemma ones raise an
//! exception); [`ChatTemplate::render`] then folds the system text into the
//! first user message, which is what those models were tuned on.

use crate::error::LlmError;
use crate::meta;
use candle_core::quantized::gguf_file::Content;
use minijinja::{context, Environment, Error, ErrorKind};

/// ChatML, used when the file has no template of its own.
pub const CHATML_TEMPLATE: &str = "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

/// Gemma's turns, used when a file has Gemma's turn markers but no
/// template. Gemma has no system role: the template refuses one, and
/// [`ChatTemplate::render`] folds the system text into the user turn. BOS is
/// left to the tokenizer's settings.
pub const GEMMA_TURNS_TEMPLATE: &str = "{% for message in messages %}{% if message['role'] == 'system' %}{{ raise_exception('Gemma has no system role') }}{% endif %}{{ '<start_of_turn>' + ('model' if message['role'] == 'assistant' else message['role']) + '\n' + message['content'] | trim + '<end_of_turn>\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<start_of_turn>model\n' }}{% endif %}";

/// One chat message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatMessage {
    pub role: String,
    pub content: String,
}

impl ChatMessage {
    pub fn new(role: &str, content: &str) -> Self {
        Self {
            role: role.to_string(),
            content: content.to_string(),
        }
    }
}

/// A compiled chat template with the special-token strings it may use.
pub struct ChatTemplate {
    env: Environment<'static>,
    bos_token: String,
    eos_token: String,
    /// True when the GGUF had no template and a fallback is used instead.
    pub is_fallback: bool,
}

impl std::fmt::Debug for ChatTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatTemplate")
            .field("bos_token", &self.bos_token)
            .field("eos_token", &self.eos_token)
            .field("is_fallback", &self.is_fallback)
            .finish()
    }
}

fn raise_exception(msg: String) -> Result<String, Error> {
    Err(Error::new(ErrorKind::InvalidOperation, msg))
}

impl ChatTemplate {
    /// Compiles a template source.
    pub fn new(source: &str, bos_token: &str, eos_token: &str) -> Result<Self, LlmError> {
        let mut env = Environment::new();
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function("raise_exception", raise_exception);
        env.add_template_owned("chat", source.to_string())
            .map_err(|e| LlmError::ChatTemplate(format!("it does not compile: {e}")))?;
        Ok(Self {
            env,
            bos_token: bos_token.to_string(),
            eos_token: eos_token.to_string(),
            is_fallback: false,
        })
    }

    /// The template a GGUF file declares, or a fallback (see the module docs).
    pub fn from_gguf(ct: &Content) -> Result<Self, LlmError> {
        let tokens = meta::req_string_array(ct, "tokenizer.ggml.tokens")?;
        let token_text = |key: &str| -> Result<String, LlmError> {
            Ok(meta::opt_u32(ct, key)?
                .and_then(|id| tokens.get(id as usize))
                .map(|s| s.to_string())
                .unwrap_or_default())
        };
        let bos = token_text("tokenizer.ggml.bos_token_id")?;
        let eos = token_text("tokenizer.ggml.eos_token_id")?;
        match meta::opt_str(ct, "tokenizer.chat_template")? {
            Some(src) if !src.trim().is_empty() => Self::new(src, &bos, &eos),
            _ => {
                let fallback = if tokens.contains(&"<start_of_turn>") {
                    GEMMA_TURNS_TEMPLATE
                } else {
                    CHATML_TEMPLATE
                };
                let mut t = Self::new(fallback, &bos, &eos)?;
                t.is_fallback = true;
                Ok(t)
            }
        }
    }

    fn render_raw(&self, messages: &[ChatMessage]) -> Result<String, Error> {
        let msgs: Vec<_> = messages
            .iter()
            .map(|m| context! { role => m.role.as_str(), content => m.content.as_str() })
            .collect();
        self.env.get_template("chat")?.render(context! {
            messages => msgs,
            add_generation_prompt => true,
            bos_token => self.bos_token.as_str(),
            eos_token => self.eos_token.as_str(),
            // Qwen3: answer directly, without a <think> block first (the
            // drafter writes the section headers itself).
            enable_thinking => false,
        })
    }

    /// Renders a system + user exchange ready for the assistant's answer.
    /// When the template rejects the system role, the system text is put at
    /// the top of the user message instead.
    pub fn render(&self, system: &str, user: &str) -> Result<String, LlmError> {
        let with_system = [
            ChatMessage::new("system", system),
            ChatMessage::new("user", user),
        ];
        match self.render_raw(&with_system) {
            Ok(text) => Ok(text),
            Err(first) => {
                let folded = [ChatMessage::new("user", &format!("{system}\n\n{user}"))];
                self.render_raw(&folded).map_err(|e| {
                    LlmError::ChatTemplate(format!(
                        "rendering failed with a system message ({}) and without one ({})",
                        first.kind(),
                        e.kind()
                    ))
                })
            }
        }
    }

    pub fn bos_token(&self) -> &str {
        &self.bos_token
    }
}
