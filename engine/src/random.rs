//! Random weights of a real shape (benchmarks and tests: the `random` feature), in memory or saved as a
//! checkpoint folder the official code loads too.

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};

use crate::checkpoint::weights::Weights;
use crate::error::Result;
use crate::model::config::DreamConfig;

/// Random weights with the official tensor names and shapes for `cfg` (normal, scaled by
/// `recipe`; norms 1), so speed can be measured without downloading a checkpoint. They are
/// drawn where they will live, in their final dtype: a 7B shape on a GPU needs no 30 GB host
/// copy and no minutes of sampling on the CPU.
pub fn random_weights(cfg: &DreamConfig, recipe: Recipe, dtype: DType, device: &Device) -> Result<Weights> {
    let mut draw = |shape: &[usize], std| Tensor::randn(0f32, std, shape, device)?.to_dtype(dtype);
    Ok(Weights::from_tensors(random_tensors(cfg, recipe, &mut draw)?, dtype, device))
}

/// Weights named and shaped for `cfg`, each matrix drawn by `draw(shape, std)` with the
/// scale `recipe` gives it (a seeded `draw` makes them the same on every run); norms are 1.
pub fn random_weights_with(
    cfg: &DreamConfig,
    recipe: Recipe,
    dtype: DType,
    device: &Device,
    draw: &mut dyn FnMut(&[usize], f32) -> candle_core::Result<Tensor>,
) -> Result<Weights> {
    Ok(Weights::from_tensors(random_tensors(cfg, recipe, draw)?, dtype, device))
}

/// How the random matrices are scaled.
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Recipe {
    /// Every matrix N(0, 0.02²), the usual initialisation: near-uniform predictions (top-1
    /// about 1e-4 over Qwen's vocabulary), so parallel reveal never fires.
    #[default]
    Init,
    /// The reference fixtures' scales (tests/fixtures/dream-tiny/README.md; norms stay 1)
    /// with `lm_head` at 12/sqrt(hidden) instead of 4/sqrt(hidden): logits of std 12, which
    /// over Qwen's 152k-token vocabulary put the median top-1 probability near 0.75 and about
    /// a third of positions above 0.9 (the fixture's 4 does that only over its 1,000 tokens).
    /// Peaked like a trained model where it is sure, so parallel reveal has work to do.
    Peaked,
}

impl Recipe {
    /// The standard deviation of the tensor `name` (a matrix or a bias).
    fn std(self, name: &str, cfg: &DreamConfig) -> f32 {
        let (h, i) = ((cfg.hidden_size as f32).sqrt(), (cfg.intermediate_size as f32).sqrt());
        let has = |part: &str| name.contains(part);
        match self {
            Recipe::Init => 0.02,
            Recipe::Peaked if has("embed_tokens") => 1.0,
            Recipe::Peaked if has("lm_head") => 12.0 / h,
            Recipe::Peaked if (has("q_proj") || has("k_proj")) && name.ends_with("bias") => 1.0,
            Recipe::Peaked if has("q_proj") || has("k_proj") => 3.0 / h,
            Recipe::Peaked if has("v_proj") && name.ends_with("bias") => 0.2,
            Recipe::Peaked if has("down_proj") => 1.0 / i,
            Recipe::Peaked => 1.0 / h,
        }
    }
}

fn normal(shape: &[usize], std: f32) -> candle_core::Result<Tensor> {
    Tensor::randn(0f32, std, shape, &Device::Cpu)
}

/// A `draw` for [`random_weights_with`] that gives the same weights for the same `seed` on
/// every run (candle's CPU `randn` cannot be seeded): normal draws by Box-Muller from ChaCha8.
/// Tests use it where one unlucky draw of a few weights would change what they check.
///
/// ```
/// use candle_core::{DType, Device};
/// use dream_engine::random::{random_weights_with, seeded_normal, Recipe};
/// use dream_engine::DreamConfig;
///
/// let cfg = DreamConfig::tiny_shape();
/// let a = random_weights_with(&cfg, Recipe::Peaked, DType::F32, &Device::Cpu, &mut seeded_normal(7)).unwrap();
/// let b = random_weights_with(&cfg, Recipe::Peaked, DType::F32, &Device::Cpu, &mut seeded_normal(7)).unwrap();
/// let (name, shape) = ("model.layers.0.mlp.up_proj.weight", [cfg.intermediate_size, cfg.hidden_size]);
/// let (a, b) = (a.get(&shape, name).unwrap(), b.get(&shape, name).unwrap());
/// assert_eq!(a.to_vec2::<f32>().unwrap(), b.to_vec2::<f32>().unwrap());
/// ```
pub fn seeded_normal(seed: u64) -> impl FnMut(&[usize], f32) -> candle_core::Result<Tensor> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    move |shape, std| {
        let n = shape.iter().product();
        let mut normal = || {
            let (u, v): (f32, f32) = (1.0 - rng.random::<f32>(), rng.random());
            (-2.0 * u.ln()).sqrt() * (std::f32::consts::TAU * v).cos() * std
        };
        Tensor::from_vec((0..n).map(|_| normal()).collect::<Vec<f32>>(), shape, &Device::Cpu)
    }
}

fn random_tensors(
    cfg: &DreamConfig,
    recipe: Recipe,
    draw: &mut dyn FnMut(&[usize], f32) -> candle_core::Result<Tensor>,
) -> Result<HashMap<String, Tensor>> {
    let mut tensors = HashMap::new();
    for (name, shape) in cfg.tensor_shapes() {
        let t = if name.ends_with("norm.weight") {
            Tensor::ones(shape, DType::F32, &Device::Cpu)?
        } else {
            draw(&shape, recipe.std(&name, cfg))?
        };
        tensors.insert(name, t);
    }
    Ok(tensors)
}

/// Writes a random checkpoint of shape `cfg` drawn by `recipe` (f32 `model.safetensors`,
/// `config.json` and `generation_config.json`, loadable by the official code too) to `dir`.
pub fn save_random_checkpoint(cfg: &DreamConfig, recipe: Recipe, dir: &std::path::Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| crate::Error::io(dir, e))?;
    let weights = dir.join("model.safetensors");
    // transformers refuses safetensors without `{"format": "pt"}` metadata.
    let metadata = Some(HashMap::from([("format".to_string(), "pt".to_string())]));
    safetensors::serialize_to_file(random_tensors(cfg, recipe, &mut normal)?, metadata, &weights)
        .map_err(|e| crate::Error::CorruptWeights { path: weights.clone(), reason: e.to_string() })?;
    // The fields the official DreamConfig and generation code read, beside the engine's own.
    let mut config = serde_json::to_value(cfg).expect("config serialises");
    config["model_type"] = "Dream".into();
    config["architectures"] = serde_json::json!(["DreamModel"]);
    config["torch_dtype"] = "float32".into();
    let generation = serde_json::json!({
        "bos_token_id": cfg.bos_token_id,
        "eos_token_id": cfg.eos_token_id,
        "pad_token_id": cfg.pad_token_id,
        "mask_token_id": cfg.mask_token_id,
    });
    for (name, value) in [("config.json", config), ("generation_config.json", generation)] {
        let path = dir.join(name);
        let text = serde_json::to_string_pretty(&value).expect("json serialises");
        std::fs::write(&path, text).map_err(|e| crate::Error::io(&path, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::DreamModel;

    #[test]
    fn parameter_count_matches_the_official_0_5b_figure() {
        // `model.parameters` of the official bench's random Qwen2.5-0.5B-shaped Dream.
        assert_eq!(DreamConfig::qwen2_5_0_5b_shape().parameter_count(), 630_167_424);
    }

    #[test]
    fn random_weights_build_a_model_that_runs() {
        let cfg = DreamConfig::tiny_shape();
        let model =
            DreamModel::load(&random_weights(&cfg, Recipe::Init, DType::F32, &Device::Cpu).unwrap(), &cfg).unwrap();
        let input = crate::ModelInput::new(&[vec![5, 17, 151_666, 3]], None, &Device::Cpu).unwrap();
        assert_eq!(model.forward(&input).unwrap().dims(), &[1, 4, cfg.vocab_size]);
    }
}
