//! A built-in tiny Dream for trying the app with no download: random weights and a byte-level
//! tokenizer, so any typed text works. Its output is noise.

use candle_core::{DType, Device, Tensor};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::BPE;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::{AddedToken, Tokenizer};

use crate::config::DreamConfig;
use crate::engine::Dream;
use crate::error::{Error, Result};
use crate::model::DreamModel;
use crate::random::{random_weights_with, Recipe};
use crate::tokenizer::DreamTokenizer;

const SPECIALS: [&str; 3] = ["<|endoftext|>", "<|beginoftext|>", "<|mask|>"];

/// The demo's shape: 256 byte tokens then `<|endoftext|>` (256), `<|beginoftext|>` (257) and
/// `<|mask|>` (258).
pub fn demo_config() -> DreamConfig {
    DreamConfig {
        vocab_size: 256 + SPECIALS.len(),
        hidden_size: 64,
        intermediate_size: 176,
        num_hidden_layers: 2,
        num_attention_heads: 4,
        num_key_value_heads: 2,
        max_position_embeddings: 2048,
        rms_norm_eps: 1e-6,
        rope_theta: 1_000_000.0,
        mask_token_id: 258,
        pad_token_id: 256,
        bos_token_id: 257,
        eos_token_id: 256,
        ..Default::default()
    }
}

/// A byte-level tokenizer: one token per UTF-8 byte, no merges.
fn byte_tokenizer(cfg: &DreamConfig) -> Result<DreamTokenizer> {
    let mut alphabet: Vec<char> = ByteLevel::alphabet().into_iter().collect();
    alphabet.sort_unstable();
    let vocab: tokenizers::models::bpe::Vocab =
        alphabet.iter().enumerate().map(|(i, c)| (c.to_string(), i as u32)).collect();
    let bpe = BPE::builder()
        .vocab_and_merges(vocab, vec![])
        .build()
        .map_err(|e| Error::Tokenizer { path: "<demo>".into(), reason: e.to_string() })?;
    let mut tok = Tokenizer::new(bpe);
    tok.with_pre_tokenizer(Some(ByteLevel::new(false, false, false)));
    tok.with_decoder(Some(ByteLevelDecoder::new(false, false, false)));
    tok.add_special_tokens(SPECIALS.iter().map(|s| AddedToken::from(*s, true)))
        .map_err(|e| Error::Tokenizer { path: "<demo>".into(), reason: e.to_string() })?;
    DreamTokenizer::new(tok, cfg)
}

/// The demo model on `device`, with weights drawn from a fixed seed (the same on every start).
///
/// ```
/// # fn main() -> dream_engine::Result<()> {
/// let dream = dream_engine::demo::demo(&candle_core::Device::Cpu)?;
/// assert_eq!(dream.tokenizer.decode(&dream.tokenizer.encode("Any text, ünïcode ✓")?)?, "Any text, ünïcode ✓");
/// # Ok(()) }
/// ```
pub fn demo(device: &Device) -> Result<Dream> {
    let config = demo_config();
    let tokenizer = byte_tokenizer(&config)?;
    let mut rng = ChaCha8Rng::seed_from_u64(20_250_417);
    let weights = random_weights_with(&config, Recipe::Init, DType::F32, device, &mut |shape, std| {
        // Uniform with the given standard deviation: plenty for noise, and seedable.
        let half_width = std * 3f32.sqrt();
        let n = shape.iter().product();
        let data: Vec<f32> = (0..n).map(|_| (rng.random::<f32>() * 2.0 - 1.0) * half_width).collect();
        Tensor::from_vec(data, shape, &Device::Cpu)
    })?;
    let model = DreamModel::load(&weights, &config)?;
    Ok(Dream { config, tokenizer, model })
}
