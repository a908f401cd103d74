//! A checkpoint's chat template: the Jinja in `tokenizer_config.json` (`chat_template`) or in
//! a GGUF file (`tokenizer.chat_template`), rendered with minijinja as Hugging Face renders it.
//! The writer's words never pass through the template's text: they are tokenised as plain text
//! in the place the template gives the message (see [`ChatTemplate::around_message`]), so they
//! cannot become control tokens.

use minijinja::{context, Environment};

use crate::error::{Error, Result};

/// The largest template read (Qwen2.5's, tools and all, is 2.5 KB).
pub const MAX_TEMPLATE_BYTES: usize = 64 << 10;
/// How much work one rendering may do: a real template takes a few hundred units; a template
/// that loops without end stops with an error instead of hanging.
const FUEL: u64 = 100_000;
/// Stands for the message while the template is rendered: private-use characters no template
/// writes, found again in its output to split markup from the writer's words.
const MESSAGE: &str = "\u{F8FF}\u{F8FE}message\u{F8FE}\u{F8FF}";

/// A chat template, checked when it is read.
///
/// ```
/// # fn main() -> dream_engine::Result<()> {
/// use dream_engine::chat::ChatTemplate;
/// let chatml = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}\
///               {% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";
/// let template = ChatTemplate::new(chatml.into())?;
/// assert_eq!(template.render("Hi")?, "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ChatTemplate {
    source: String,
}

impl ChatTemplate {
    /// Reads `source`, refusing one that is too large, does not parse, or does not write the
    /// user's message exactly once before the answer.
    pub fn new(source: String) -> Result<Self> {
        if source.len() > MAX_TEMPLATE_BYTES {
            return Err(bad(format!("{} bytes; the limit is {MAX_TEMPLATE_BYTES}", source.len())));
        }
        let template = ChatTemplate { source };
        let rendered = template.render(MESSAGE)?;
        if rendered.matches(MESSAGE).count() != 1 {
            return Err(bad("it does not write the user's message once, as given".into()));
        }
        Ok(template)
    }

    /// The template as the checkpoint has it.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The prompt for one user turn holding `message`, up to where the assistant's answer
    /// starts (`add_generation_prompt`), as text.
    pub fn render(&self, message: &str) -> Result<String> {
        let mut env = Environment::new();
        env.set_fuel(Some(FUEL));
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        // Hugging Face's own helper, which some templates call to refuse a conversation.
        env.add_function("raise_exception", |msg: String| -> std::result::Result<String, minijinja::Error> {
            Err(minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, msg))
        });
        let messages = [context! { role => "user", content => message }];
        env.render_str(
            &self.source,
            context! { messages, add_generation_prompt => true, bos_token => "", eos_token => "" },
        )
        .map_err(|e| bad(e.to_string()))
    }

    /// The template's markup before and after the user's message, up to where the answer
    /// starts: the message itself (the writer's words) goes between them as plain text.
    pub fn around_message(&self) -> Result<(String, String)> {
        let rendered = self.render(MESSAGE)?;
        let (head, tail) = rendered.split_once(MESSAGE).expect("checked in `new`: the message is written once");
        Ok((head.to_owned(), tail.to_owned()))
    }
}

fn bad(reason: String) -> Error {
    Error::ChatTemplate { reason }
}

#[cfg(test)]
mod tests {
    use super::ChatTemplate;

    #[test]
    fn a_template_that_runs_away_fails_or_drops_the_message_is_refused() {
        let endless =
            "{% for i in range(99999) %}{% for j in range(99999) %}x{% endfor %}{% endfor %}{{ messages[0].content }}";
        for bad in [endless, "no message here", "{{ raise_exception('no system turn') }}", "{% if"] {
            assert!(ChatTemplate::new(bad.into()).is_err(), "{bad}");
        }
        let twice = "{{ messages[0].content }}{{ messages[0].content }}";
        assert!(ChatTemplate::new(twice.into()).is_err());
    }

    /// Hugging Face templates call Python's string methods.
    #[test]
    fn python_string_methods_work_in_a_template() {
        let t = ChatTemplate::new("{{ messages[0].content.strip() }}|{{ 'A'.lower() }}".into()).unwrap();
        assert_eq!(t.render("  Hi  ").unwrap(), "Hi|a");
    }
}
