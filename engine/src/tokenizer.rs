//! Dream's tokenizer: `tokenizer.json` when the checkpoint has one, otherwise Qwen2's
//! byte-level BPE assembled from `vocab.json` + `merges.txt` + `tokenizer_config.json` (the
//! layout the official Dream-v0 repos ship).

use std::path::{Path, PathBuf};

use serde::Deserialize;
use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::BPE;
use tokenizers::normalizers::unicode::NFC;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::{AddedToken, AddedVocabulary, SplitDelimiterBehavior, Tokenizer};

use crate::chat::ChatTemplate;
use crate::error::{Error, Result};
use crate::model::config::DreamConfig;

/// The files of the two layouts a checkpoint's tokenizer comes in, in order of preference.
pub const JSON_LAYOUT: [&str; 1] = ["tokenizer.json"];
pub const BPE_LAYOUT: [&str; 3] = ["vocab.json", "merges.txt", "tokenizer_config.json"];

/// The largest tokenizer file read (Qwen2's tokenizer.json is 7 MB).
pub const MAX_TOKENIZER_BYTES: u64 = 64 << 20;

/// Normalizers whose data `tokenizers` trusts (a malformed `Precompiled` char map panics).
const UNSUPPORTED: [&str; 1] = ["Precompiled"];

/// Whether a normalizer (or one in a `Sequence` of them) is of type `kind`.
fn uses_type(normalizer: &serde_json::Value, kind: &str) -> bool {
    normalizer["type"] == kind
        || normalizer["normalizers"].as_array().is_some_and(|list| list.iter().any(|n| uses_type(n, kind)))
}

/// Qwen2's pre-tokenizer split (the same pattern as `Qwen2Tokenizer`'s `PRETOKENIZE_REGEX`).
const QWEN2_SPLIT: &str =
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// The tokenizer of a Dream checkpoint, with the ids the sampler needs.
///
/// ```
/// # fn main() -> dream_engine::Result<()> {
/// use dream_engine::{DreamConfig, DreamTokenizer};
/// let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/dream-tiny");
/// let cfg = DreamConfig::from_file(&dir.join("config.json"))?;
/// let tok = DreamTokenizer::from_dir(&dir, &cfg)?;
/// assert_eq!(tok.encode("w5 w17 w3")?, vec![5, 17, 3]);
/// // Markup (a chat template, never the writer's text) may hold control tokens.
/// assert_eq!(tok.encode_markup("w5 <|mask|>")?, vec![5, 997]);
/// # Ok(()) }
/// ```
pub struct DreamTokenizer {
    inner: Tokenizer,
    /// `inner` without its added tokens: the writer's text, in which `<|endoftext|>` or
    /// `<|mask|>` are characters like any other.
    plain: Tokenizer,
    mask_id: u32,
    /// Ids that end a text (eos, pad): dropped when a span's tokens become text.
    end_ids: Vec<u32>,
    /// The checkpoint's chat template, or why it cannot be used (said only when an
    /// instruction needs it: a model with a broken template still fills text).
    chat: Option<std::result::Result<ChatTemplate, String>>,
}

/// One entry of `added_tokens_decoder` in `tokenizer_config.json`.
#[derive(Deserialize)]
struct AddedTokenEntry {
    content: String,
    #[serde(default)]
    lstrip: bool,
    #[serde(default)]
    rstrip: bool,
    #[serde(default)]
    normalized: bool,
    #[serde(default)]
    single_word: bool,
    #[serde(default)]
    special: bool,
}

impl DreamTokenizer {
    /// Loads the tokenizer of checkpoint folder `dir`, preferring `tokenizer.json`.
    pub fn from_dir(dir: &Path, cfg: &DreamConfig) -> Result<Self> {
        let [vocab, merges, config_path] = BPE_LAYOUT.map(|f| dir.join(f));
        // Read once: the BPE layout's added tokens, and either layout's chat template.
        let config = config_path.is_file().then(|| read_json(&config_path)).transpose()?;
        let inner = if layout(|f| dir.join(f).is_file()) == JSON_LAYOUT {
            Self::from_json_file(&dir.join(JSON_LAYOUT[0]))?
        } else {
            if !vocab.is_file() && !merges.is_file() {
                return Err(Error::TokenizerMissing { dir: dir.to_owned() });
            }
            let config = config.as_ref().ok_or_else(|| Error::FileMissing { path: config_path.clone() })?;
            Self::assemble_bpe(&vocab, &merges, &config_path, config)?
        };
        Ok(Self::new(inner, cfg)?.with_chat_template(config.as_ref().and_then(chat_template_of)))
    }

    /// This tokenizer with the checkpoint's chat template `source` (`None`: it has none).
    pub fn with_chat_template(self, source: Option<String>) -> Self {
        let chat = source.map(|s| ChatTemplate::new(s).map_err(|e| e.to_string()));
        DreamTokenizer { chat, ..self }
    }

    /// The checkpoint's chat template: `Ok(None)` when it has none (a Base model), an error
    /// saying why when it has one that cannot be used.
    pub fn chat_template(&self) -> Result<Option<&ChatTemplate>> {
        match &self.chat {
            None => Ok(None),
            Some(Ok(t)) => Ok(Some(t)),
            Some(Err(reason)) => Err(Error::ChatTemplate { reason: reason.clone() }),
        }
    }

    /// A `tokenizer.json`, bounded in size and refused when it uses a part of `tokenizers`
    /// that panics on malformed data (Dream's byte-level BPE needs none of them); any other
    /// panic inside the library becomes an error naming the file.
    fn from_json_file(path: &Path) -> Result<Tokenizer> {
        let bad = |reason: String| Error::Tokenizer { path: path.to_owned(), reason };
        let bytes = crate::checkpoint::read::read_limited(path, MAX_TOKENIZER_BYTES)?;
        let json: serde_json::Value = serde_json::from_slice(&bytes).map_err(|source| Error::Json {
            path: path.to_owned(),
            field: ".".into(),
            source,
        })?;
        if let Some(kind) = UNSUPPORTED.iter().find(|k| uses_type(&json["normalizer"], k)) {
            return Err(bad(format!("the `{kind}` normalizer is not supported (Dream's tokenizer has none)")));
        }
        std::panic::catch_unwind(|| Tokenizer::from_bytes(&bytes))
            .map_err(|_| bad("the tokenizers library could not read it".into()))?
            .map_err(|e| bad(e.to_string()))
    }

    /// Wraps a ready `tokenizers::Tokenizer`, checking that it knows the config's mask token.
    pub fn new(inner: Tokenizer, cfg: &DreamConfig) -> Result<Self> {
        let mask_id = cfg.mask_token_id;
        match inner.id_to_token(mask_id) {
            Some(token) if inner.get_added_vocabulary().is_special_token(&token) => {}
            other => return Err(Error::NoMaskToken { token: other.unwrap_or_else(|| "<|mask|>".into()), id: mask_id }),
        }
        let mut end_ids = vec![cfg.eos_token_id, cfg.pad_token_id];
        end_ids.dedup();
        let mut plain = inner.clone();
        plain.with_added_vocabulary(AddedVocabulary::new());
        Ok(DreamTokenizer { inner, plain, mask_id, end_ids, chat: None })
    }

    /// Qwen2's byte-level BPE from `vocab.json` and `merges.txt`, with the added and special
    /// tokens of `tokenizer_config.json` at exactly the ids it lists.
    fn assemble_bpe(vocab: &Path, merges: &Path, config: &Path, json: &serde_json::Value) -> Result<Tokenizer> {
        for f in [vocab, merges] {
            if !f.is_file() {
                return Err(Error::FileMissing { path: f.to_owned() });
            }
            if std::fs::metadata(f).map_err(|e| Error::io(f, e))?.len() > MAX_TOKENIZER_BYTES {
                return Err(Error::Tokenizer {
                    path: f.to_owned(),
                    reason: format!("over {MAX_TOKENIZER_BYTES} bytes"),
                });
            }
        }
        let (vocab_map, merge_list) =
            BPE::read_file(&vocab.to_string_lossy(), &merges.to_string_lossy()).map_err(|e| Error::Tokenizer {
                path: vocab.to_owned(),
                reason: format!("with {}: {e}", merges.display()),
            })?;
        let decoder = json.get("added_tokens_decoder").cloned().unwrap_or_default();
        let entries: std::collections::BTreeMap<String, AddedTokenEntry> =
            serde_json::from_value(decoder).map_err(|e| Error::Config {
                path: config.to_owned(),
                field: "added_tokens_decoder",
                reason: e.to_string(),
            })?;
        let added = entries
            .into_iter()
            .map(|(id, e)| {
                let token = AddedToken::from(e.content, e.special)
                    .lstrip(e.lstrip)
                    .rstrip(e.rstrip)
                    .normalized(e.normalized)
                    .single_word(e.single_word);
                id.parse::<u32>().map(|id| (id, token)).map_err(|_| Error::Config {
                    path: config.to_owned(),
                    field: "added_tokens_decoder",
                    reason: format!("key `{id}` is not a token id"),
                })
            })
            .collect::<Result<_>>()?;
        qwen2_bpe(vocab_map, merge_list, added, config)
    }

    /// The tokenizer of a GGUF file converted by llama.cpp: `tokens` by id with their
    /// `types` (1 normal, 3 control, 4 user-defined, 5 unused padding up to the model's
    /// vocabulary) and `merges` ("a b").
    pub fn from_gguf_vocab(
        tokens: &[String],
        types: &[i32],
        merges: &[String],
        path: &Path,
        cfg: &DreamConfig,
    ) -> Result<Self> {
        let mut vocab = tokenizers::models::bpe::Vocab::default();
        let mut added = Vec::new();
        for (id, (token, &kind)) in tokens.iter().zip(types.iter().chain(std::iter::repeat(&1))).enumerate() {
            // Every token keeps its id in the model's vocabulary (merges never reach the added
            // or padding ones); added tokens are also matched in the text before BPE runs.
            vocab.insert(token.clone(), id as u32);
            if kind == 3 || kind == 4 {
                added.push((id as u32, AddedToken::from(token.clone(), kind == 3)));
            }
        }
        let merges = merges
            .iter()
            .map(|m| {
                m.split_once(' ').map(|(a, b)| (a.to_owned(), b.to_owned())).ok_or_else(|| Error::Config {
                    path: path.to_owned(),
                    field: "tokenizer.ggml.merges",
                    reason: format!("`{m}` is not a pair"),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Self::new(qwen2_bpe(vocab, merges, added, path)?, cfg)
    }

    /// Token ids of the writer's `text`, with no BOS/EOS added. It is plain text throughout:
    /// a control token written in it (`<|endoftext|>`, `<|im_start|>`, `<|mask|>`) is read as
    /// its characters, never as the control token.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let enc = self.plain.encode(text, false).map_err(|e| Error::Encode(e.to_string()))?;
        Ok(enc.get_ids().to_vec())
    }

    /// Token ids of markup the engine writes (a rendered chat template): control tokens
    /// written in it become their ids. Never for the writer's text (see [`Self::encode`]).
    pub fn encode_markup(&self, text: &str) -> Result<Vec<u32>> {
        let enc = self.inner.encode(text, false).map_err(|e| Error::Encode(e.to_string()))?;
        Ok(enc.get_ids().to_vec())
    }

    /// The text of `ids`, special tokens included (drop them first where unwanted).
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        self.inner.decode(ids, false).map_err(|e| Error::Encode(e.to_string()))
    }

    /// The id of `<|mask|>`.
    pub fn mask_id(&self) -> u32 {
        self.mask_id
    }

    /// Whether `id` ends a text (eos or pad), so it is dropped from generated spans.
    pub fn is_end(&self, id: u32) -> bool {
        self.end_ids.contains(&id)
    }

    /// The control tokens no fill may hold: every added token (special or not: Qwen2.5 marks
    /// `<|fim_middle|>` and `<tool_call>` as not special) but the ends (eos, pad), which close a
    /// fill early and are dropped from it. Sorted.
    ///
    /// ```
    /// # fn main() -> dream_engine::Result<()> {
    /// let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/dream-tiny"));
    /// let cfg = dream_engine::DreamConfig::from_file(&dir.join("config.json"))?;
    /// let tok = dream_engine::DreamTokenizer::from_dir(dir, &cfg)?;
    /// assert!(tok.control_ids().contains(&tok.mask_id()));
    /// assert!(!tok.control_ids().iter().any(|&id| tok.is_end(id)));
    /// # Ok(())
    /// # }
    /// ```
    pub fn control_ids(&self) -> Vec<u32> {
        let mut ids: Vec<u32> =
            self.inner.get_added_tokens_decoder().into_keys().filter(|&id| !self.is_end(id)).collect();
        ids.sort_unstable();
        ids
    }

    /// Tokens known to the tokenizer, added tokens included.
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// The underlying `tokenizers` tokenizer.
    pub fn inner(&self) -> &Tokenizer {
        &self.inner
    }
}

/// Qwen2's byte-level BPE (NFC, its split regex, byte-level pre-tokenizer and decoder) over
/// `vocab` and `merges`, with `added` tokens placed at exactly their ids.
fn qwen2_bpe(
    vocab: tokenizers::models::bpe::Vocab,
    merges: tokenizers::models::bpe::Merges,
    mut added: Vec<(u32, AddedToken)>,
    path: &Path,
) -> Result<Tokenizer> {
    let err = |reason: String| Error::Tokenizer { path: path.to_owned(), reason };
    let bpe = BPE::builder().vocab_and_merges(vocab, merges).build().map_err(|e| err(e.to_string()))?;
    let mut tok = Tokenizer::new(bpe);
    let split = Split::new(SplitPattern::Regex(QWEN2_SPLIT.into()), SplitDelimiterBehavior::Isolated, false)
        .map_err(|e| err(e.to_string()))?;
    tok.with_normalizer(Some(NFC)).map_err(|e| err(e.to_string()))?;
    tok.with_pre_tokenizer(Some(Sequence::new(vec![split.into(), ByteLevel::new(false, false, false).into()])));
    tok.with_post_processor(Some(ByteLevel::new(false, false, false)));
    tok.with_decoder(Some(ByteLevelDecoder::new(false, false, false)));
    // The tokenizers crate gives added tokens the next free ids, so add them in id order and
    // check each landed where it should.
    added.sort_by_key(|(id, _)| *id);
    for (id, token) in added {
        let content = token.content.clone();
        if token.special {
            tok.add_special_tokens([token]).map_err(|x| err(x.to_string()))?;
        } else {
            tok.add_tokens([token]).map_err(|x| err(x.to_string()))?;
        }
        let got = tok.token_to_id(&content);
        if got != Some(id) {
            return Err(err(format!(
                "token `{content}` should have id {id} but got {got:?} (added ids must follow the vocabulary without gaps)"
            )));
        }
    }
    Ok(tok)
}

/// A `tokenizer_config.json` (or other tokenizer JSON), bounded in size.
fn read_json(path: &Path) -> Result<serde_json::Value> {
    let bytes = crate::checkpoint::read::read_limited(path, MAX_TOKENIZER_BYTES)?;
    serde_json::from_slice(&bytes).map_err(|source| Error::Json { path: path.to_owned(), field: ".".into(), source })
}

/// The `chat_template` of a `tokenizer_config.json`: a string, or Hugging Face's list of named
/// templates (the one named `default`).
fn chat_template_of(config: &serde_json::Value) -> Option<String> {
    match &config["chat_template"] {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Array(named) => {
            named.iter().find(|t| t["name"] == "default").and_then(|t| t["template"].as_str()).map(str::to_owned)
        }
        _ => None,
    }
}

/// The tokenizer layout a checkpoint uses, given which files it `has`: `tokenizer.json` where
/// there is one, else the BPE files. The one answer for loading a folder, checking one, and
/// choosing what to download.
pub fn layout(has: impl Fn(&str) -> bool) -> &'static [&'static str] {
    if has(JSON_LAYOUT[0]) {
        &JSON_LAYOUT
    } else {
        &BPE_LAYOUT
    }
}

/// The tokenizer files of checkpoint folder `dir`, or `None` when its layout lacks one.
pub fn tokenizer_files(dir: &Path) -> Option<Vec<PathBuf>> {
    let files: Vec<PathBuf> = layout(|f| dir.join(f).is_file()).iter().map(|f| dir.join(f)).collect();
    files.iter().all(|f| f.is_file()).then_some(files)
}
