//! `config.json` of a Dream checkpoint, parsed into a typed, validated [`DreamConfig`].

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Dream-v0 was trained on sequences of 2048 tokens; its `max_position_embeddings` (131072) is
/// inherited from Qwen2.5 and is not a usable context. Requests are windowed to the smaller of
/// the two.
pub const TRAINED_CONTEXT: usize = 2048;

/// Dream-v0's special token ids (the official DreamConfig's defaults): `<|mask|>`,
/// `<|endoftext|>` (padding and end of text) and `<|beginoftext|>`.
pub const DREAM_V0_MASK_ID: u32 = 151_666;
pub const DREAM_V0_PAD_ID: u32 = 151_643;
pub const DREAM_V0_EOS_ID: u32 = 151_643;
pub const DREAM_V0_BOS_ID: u32 = 151_665;

/// The `rms_norm_eps` values accepted: real models use 1e-5 or 1e-6 (a few 1e-8 or 1e-12); an
/// epsilon near the activations' own size would silently flatten every normalisation.
pub const RMS_NORM_EPS_RANGE: std::ops::RangeInclusive<f64> = 1e-12..=1e-3;

/// The largest `config.json` read (real ones are about 1 kB).
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// The architecture and special tokens of a Dream checkpoint: `config.json` as the official
/// `DreamConfig` writes it, read straight into this struct and then [validated](Self::validate).
///
/// Every field of Dream-v0's `config.json` is read. Absent fields take [`Default`]: Dream-v0's
/// special-token ids and constants, and size 0 for the shape fields, which validation then
/// names as missing. Sliding-window fields (`use_sliding_window`, `sliding_window`,
/// `max_window_layers`) are accepted and ignored: Dream attends over the whole (bidirectional)
/// sequence, and the official code never applies a window.
///
/// ```
/// let json = r#"{"vocab_size": 1000, "hidden_size": 64, "intermediate_size": 176,
///   "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
///   "rms_norm_eps": 1e-6, "rope_theta": 1000000.0, "max_position_embeddings": 2048,
///   "mask_token_id": 997, "pad_token_id": 995, "bos_token_id": 996, "eos_token_id": 995}"#;
/// let cfg = dream_engine::DreamConfig::from_json_str(json, "config.json".as_ref()).unwrap();
/// assert_eq!(cfg.head_dim(), 16);
/// assert_eq!(cfg.context_limit(), 2048);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DreamConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub num_key_value_heads: usize,
    pub max_position_embeddings: usize,
    pub rms_norm_eps: f64,
    pub rope_theta: f64,
    pub tie_word_embeddings: bool,
    /// Only `silu` (Dream's) is supported.
    pub hidden_act: String,
    /// Only none (Dream-v0 has no RoPE scaling) is supported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rope_scaling: Option<serde_json::Value>,
    pub mask_token_id: u32,
    pub pad_token_id: u32,
    pub bos_token_id: u32,
    pub eos_token_id: u32,
}

/// The official `DreamConfig`'s defaults where it has safe ones; 0 (missing) for the sizes.
impl Default for DreamConfig {
    fn default() -> Self {
        DreamConfig {
            vocab_size: 0,
            hidden_size: 0,
            intermediate_size: 0,
            num_hidden_layers: 0,
            num_attention_heads: 0,
            num_key_value_heads: 0,
            max_position_embeddings: 0,
            rms_norm_eps: 1e-6,
            rope_theta: 10_000.0,
            tie_word_embeddings: false,
            hidden_act: "silu".into(),
            rope_scaling: None,
            mask_token_id: DREAM_V0_MASK_ID,
            pad_token_id: DREAM_V0_PAD_ID,
            bos_token_id: DREAM_V0_BOS_ID,
            eos_token_id: DREAM_V0_EOS_ID,
        }
    }
}

/// The floating-point operations of a step per unit of its cost (see
/// [`DreamConfig::step_flops`]).
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct StepFlops {
    /// Per position the layers compute.
    pub per_row: f64,
    /// Per position and key it attends to.
    pub per_row_key: f64,
    /// Per position projected onto the vocabulary.
    pub per_logit: f64,
}

impl DreamConfig {
    /// Reads and validates `config.json` (at most [`MAX_CONFIG_BYTES`]).
    pub fn from_file(path: &Path) -> Result<Self> {
        let bytes = crate::checkpoint::read::read_limited(path, MAX_CONFIG_BYTES)?;
        let text = String::from_utf8_lossy(&bytes);
        Self::from_json_str(&text, path)
    }

    /// Parses and validates the JSON text of a `config.json`; `path` is only used in errors.
    pub fn from_json_str(text: &str, path: &Path) -> Result<Self> {
        let cfg: DreamConfig = crate::json::parse(text, path)?;
        cfg.validate(path)?;
        Ok(cfg)
    }

    /// Refuses what the engine cannot run, naming the field (and `path`, where it came from).
    /// Each size has a hard limit far above any real model's (and any that fits a desktop), so
    /// that arithmetic on them cannot overflow and a hostile file cannot make the estimate or
    /// the loader allocate without bound.
    pub fn validate(&self, path: &Path) -> Result<()> {
        let bad = |field: &'static str, reason: &str| Error::Config {
            path: path.to_owned(),
            field,
            reason: reason.to_owned(),
        };
        for (field, v, max) in self.sizes() {
            if v == 0 {
                return Err(bad(field, "missing (or 0)"));
            }
            if v > max {
                return Err(bad(field, &format!("{v} is over the limit of {max}")));
            }
        }
        if self.hidden_act != "silu" {
            return Err(bad("hidden_act", &format!("`{}` is not supported (Dream uses silu)", self.hidden_act)));
        }
        if self.rope_scaling.as_ref().is_some_and(|v| !v.is_null()) {
            return Err(bad("rope_scaling", "RoPE scaling is not supported (Dream-v0 has none)"));
        }
        if !self.hidden_size.is_multiple_of(self.num_attention_heads) || !self.head_dim().is_multiple_of(2) {
            return Err(bad("num_attention_heads", "must divide hidden_size into even head sizes"));
        }
        if !self.num_attention_heads.is_multiple_of(self.num_key_value_heads) {
            return Err(bad("num_key_value_heads", "must divide num_attention_heads"));
        }
        if !RMS_NORM_EPS_RANGE.contains(&self.rms_norm_eps) {
            let (lo, hi) = (RMS_NORM_EPS_RANGE.start(), RMS_NORM_EPS_RANGE.end());
            return Err(bad(
                "rms_norm_eps",
                &format!("{} is outside {lo:e}..={hi:e}, the range real models use (Dream: 1e-6)", self.rms_norm_eps),
            ));
        }
        if self.rope_theta.is_nan() || self.rope_theta <= 0.0 {
            return Err(bad("rope_theta", "must be positive"));
        }
        if self.mask_token_id as usize >= self.vocab_size {
            return Err(bad("mask_token_id", "is outside the vocabulary"));
        }
        Ok(())
    }

    /// Each size field, its value and its limit.
    fn sizes(&self) -> [(&'static str, usize, usize); 7] {
        [
            ("vocab_size", self.vocab_size, 1 << 22),
            ("hidden_size", self.hidden_size, 1 << 16),
            ("intermediate_size", self.intermediate_size, 1 << 18),
            ("num_hidden_layers", self.num_hidden_layers, 1 << 10),
            ("num_attention_heads", self.num_attention_heads, 1 << 10),
            ("num_key_value_heads", self.num_key_value_heads, 1 << 10),
            ("max_position_embeddings", self.max_position_embeddings, 1 << 24),
        ]
    }

    /// Size of one attention head.
    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }

    /// Every tensor of a checkpoint of this shape, with the official names (`lm_head` only
    /// when it is not tied to the embedding).
    pub fn tensor_shapes(&self) -> Vec<(String, Vec<usize>)> {
        let (h, i, d) = (self.hidden_size, self.intermediate_size, self.head_dim());
        let (q, kv) = (self.num_attention_heads * d, self.num_key_value_heads * d);
        let mut shapes: Vec<(String, Vec<usize>)> =
            vec![("model.embed_tokens.weight".into(), vec![self.vocab_size, h]), ("model.norm.weight".into(), vec![h])];
        if !self.tie_word_embeddings {
            shapes.push(("lm_head.weight".into(), vec![self.vocab_size, h]));
        }
        for l in 0..self.num_hidden_layers {
            for (name, shape) in [
                ("self_attn.q_proj.weight", vec![q, h]),
                ("self_attn.q_proj.bias", vec![q]),
                ("self_attn.k_proj.weight", vec![kv, h]),
                ("self_attn.k_proj.bias", vec![kv]),
                ("self_attn.v_proj.weight", vec![kv, h]),
                ("self_attn.v_proj.bias", vec![kv]),
                ("self_attn.o_proj.weight", vec![h, q]),
                ("mlp.gate_proj.weight", vec![i, h]),
                ("mlp.up_proj.weight", vec![i, h]),
                ("mlp.down_proj.weight", vec![h, i]),
                ("input_layernorm.weight", vec![h]),
                ("post_attention_layernorm.weight", vec![h]),
            ] {
                shapes.push((format!("model.layers.{l}.{name}"), shape));
            }
        }
        shapes
    }

    /// Number of weights of a model of this shape (what [`Self::tensor_shapes`] lists, counted
    /// without listing them).
    pub fn parameter_count(&self) -> usize {
        let (h, i, d) = (self.hidden_size, self.intermediate_size, self.head_dim());
        let (q, kv) = (self.num_attention_heads * d, self.num_key_value_heads * d);
        let per_layer = (q * h + q) + 2 * (kv * h + kv) + h * q + 3 * i * h + 2 * h;
        let embeddings = self.vocab_size * h * if self.tie_word_embeddings { 1 } else { 2 };
        embeddings + h + self.num_hidden_layers * per_layer
    }

    /// What a step costs in floating-point operations, per unit of the cost each step event
    /// reports (rows, keys, logits; a multiply-add counts two): a step's time is about `per_row * rows + per_row_key *
    /// rows * keys + per_logit * logits`, plus a fixed part (reading the weights once).
    ///
    /// ```
    /// let flops = dream_engine::DreamConfig::dream_v0_7b().step_flops();
    /// // The layers' matrices: about twice the parameters outside the embeddings, per position.
    /// assert!((12e9..14e9).contains(&flops.per_row));
    /// ```
    pub fn step_flops(&self) -> StepFlops {
        let (h, i, d) = (self.hidden_size, self.intermediate_size, self.head_dim());
        let (q, kv) = (self.num_attention_heads * d, self.num_key_value_heads * d);
        let layers = self.num_hidden_layers as f64;
        StepFlops {
            per_row: 2.0 * layers * (2 * q * h + 2 * kv * h + 3 * i * h) as f64,
            // Scores (q . k) and the weighted sum of values: q-sized, per key.
            per_row_key: 4.0 * layers * q as f64,
            per_logit: 2.0 * (self.vocab_size * h) as f64,
        }
    }

    /// The longest sequence a request may use (see [`TRAINED_CONTEXT`]).
    pub fn context_limit(&self) -> usize {
        self.max_position_embeddings.min(TRAINED_CONTEXT)
    }

    /// The shape of Dream-v0-7B (Base and Instruct share it).
    pub fn dream_v0_7b() -> Self {
        Self::qwen2_shape(152_064, 3584, 18_944, 28, 28, 4)
    }

    /// A random-weight stand-in shaped like Qwen2.5-0.5B, for benchmarks without downloads.
    pub fn qwen2_5_0_5b_shape() -> Self {
        Self::qwen2_shape(151_936, 896, 4864, 24, 14, 2)
    }

    /// Qwen2.5's vocabulary with a two-layer, 64-wide body: real ids, quick to draw and save
    /// (tests of what a checkpoint folder holds, not of speed).
    pub fn tiny_shape() -> Self {
        Self::qwen2_shape(151_936, 64, 176, 2, 4, 2)
    }

    /// Qwen2.5's vocabulary with a two-layer, 256-wide body: the narrowest rows that k-quants
    /// (Q4_K, Q5_K, Q6_K: blocks of 256) store as such, for quantized files at real ids.
    pub fn small_shape() -> Self {
        Self::qwen2_shape(151_936, 256, 768, 2, 4, 2)
    }

    fn qwen2_shape(vocab: usize, hidden: usize, inter: usize, layers: usize, heads: usize, kv: usize) -> Self {
        DreamConfig {
            vocab_size: vocab,
            hidden_size: hidden,
            intermediate_size: inter,
            num_hidden_layers: layers,
            num_attention_heads: heads,
            num_key_value_heads: kv,
            max_position_embeddings: 131_072,
            rms_norm_eps: 1e-6,
            rope_theta: 1_000_000.0,
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `config.json` of Dream-org/Dream-v0-Base-7B (and -Instruct-7B).
    const DREAM_V0_7B: &str = r#"{
      "architectures": ["DreamModel"], "attention_dropout": 0.0,
      "auto_map": {"AutoConfig": "configuration_dream.DreamConfig", "AutoModel": "modeling_dream.DreamModel"},
      "bos_token_id": 151665, "eos_token_id": 151643, "hidden_act": "silu", "hidden_size": 3584,
      "initializer_range": 0.02, "intermediate_size": 18944, "mask_token_id": 151666,
      "max_position_embeddings": 131072, "max_window_layers": 28, "model_type": "Dream",
      "num_attention_heads": 28, "num_hidden_layers": 28, "num_key_value_heads": 4,
      "pad_token_id": 151643, "rms_norm_eps": 1e-06, "rope_scaling": null, "rope_theta": 1000000.0,
      "sliding_window": 131072, "tie_word_embeddings": false, "torch_dtype": "bfloat16",
      "transformers_version": "4.46.2", "use_cache": true, "use_sliding_window": false,
      "vocab_size": 152064
    }"#;

    #[test]
    fn parses_the_official_7b_config() {
        let cfg = DreamConfig::from_json_str(DREAM_V0_7B, Path::new("config.json")).unwrap();
        assert_eq!(cfg, DreamConfig::dream_v0_7b());
        assert_eq!(cfg.head_dim(), 128);
        assert_eq!(cfg.context_limit(), TRAINED_CONTEXT);
    }

    #[test]
    fn missing_token_ids_default_to_dream_v0() {
        let mut json: serde_json::Value = serde_json::from_str(DREAM_V0_7B).unwrap();
        for k in ["mask_token_id", "pad_token_id", "bos_token_id", "eos_token_id"] {
            json.as_object_mut().unwrap().remove(k);
        }
        let cfg = DreamConfig::from_json_str(&json.to_string(), Path::new("config.json")).unwrap();
        assert_eq!(
            (cfg.mask_token_id, cfg.pad_token_id, cfg.bos_token_id, cfg.eos_token_id),
            (151_666, 151_643, 151_665, 151_643)
        );
    }

    #[test]
    fn unsupported_activation_is_named() {
        let json = DREAM_V0_7B.replace("\"silu\"", "\"gelu\"");
        let err = DreamConfig::from_json_str(&json, Path::new("x/config.json")).unwrap_err();
        assert!(matches!(err, Error::Config { field: "hidden_act", .. }), "{err}");
        assert!(err.to_string().contains("x/config.json"));
    }

    #[test]
    fn sizes_beyond_their_limits_are_refused_naming_the_limit() {
        for (field, value) in
            [("num_hidden_layers", "1000000"), ("hidden_size", "1099511627776"), ("vocab_size", "100000000000")]
        {
            let json = DREAM_V0_7B.replacen(&format!("\"{field}\": "), &format!("\"{field}\": {value}, \"_was\": "), 1);
            let err = DreamConfig::from_json_str(&json, Path::new("config.json")).unwrap_err();
            assert!(matches!(err, Error::Config { field: f, .. } if f == field), "{field}: {err}");
            assert!(err.to_string().contains("over the limit of"), "{err}");
        }
    }

    #[test]
    fn an_rms_norm_eps_no_real_model_uses_is_refused() {
        for eps in ["1073741824", "0.5", "0", "-1e-6", "1e-30"] {
            let json = DREAM_V0_7B.replace("\"rms_norm_eps\": 1e-06", &format!("\"rms_norm_eps\": {eps}"));
            let err = DreamConfig::from_json_str(&json, Path::new("config.json")).unwrap_err();
            assert!(matches!(err, Error::Config { field: "rms_norm_eps", .. }), "{eps}: {err}");
            assert!(err.to_string().contains("range real models use"), "{err}");
        }
        for eps in ["1e-5", "1e-12", "0.001"] {
            let json = DREAM_V0_7B.replace("\"rms_norm_eps\": 1e-06", &format!("\"rms_norm_eps\": {eps}"));
            DreamConfig::from_json_str(&json, Path::new("config.json")).unwrap();
        }
    }

    #[test]
    fn parameter_count_matches_the_tensor_list() {
        for cfg in [DreamConfig::dream_v0_7b(), DreamConfig::qwen2_5_0_5b_shape()] {
            let listed: usize = cfg.tensor_shapes().iter().map(|(_, s)| s.iter().product::<usize>()).sum();
            assert_eq!(cfg.parameter_count(), listed);
        }
    }
}
