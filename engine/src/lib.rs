//! The Dream diffusion language model engine.
//!
//! Loads a Dream checkpoint (config, tokenizer, safetensors) with candle and samples from it
//! exactly as the official implementation does, one denoising step at a time.

pub mod config;
pub mod error;
pub mod model;
pub mod weights;

pub use config::DreamConfig;
pub use error::{Error, Result};
pub use model::{DreamModel, ModelInput};
pub use tokenizer::DreamTokenizer;
pub use weights::Weights;
pub mod request;
pub mod tokenizer;
pub mod sampler;

pub use sampler::{generate, Alg, Canvas, Generation, SamplingSettings, StepEvent};
