//! The Dream diffusion language model engine.
//!
//! Loads a Dream checkpoint (config, tokenizer, safetensors) with candle and samples from it
//! exactly as the official implementation does, one denoising step at a time: masked spans
//! anywhere in a text, a continuation, a pinned ending. The `dream` CLI and the Dream Writer
//! app are thin layers over [`Dream`].

pub mod chat;
pub mod checkpoint;
pub mod cpu;
pub mod demo;
pub mod device;
mod dream;
pub mod error;
pub mod hub;
pub mod json;
pub mod memory;
pub mod model;
#[cfg(feature = "random")]
pub mod random;
pub mod request;
pub mod sampler;
pub mod tokenizer;

/// The candle version the engine is built on, for crates that pass tensors or devices in.
pub use candle_core;
pub use checkpoint::weights::Weights;
pub use device::{DeviceChoice, Precision};
pub use dream::{Dream, InfillStep, Infilled};
pub use error::{Error, Result};
pub use model::config::{DreamConfig, StepFlops};
pub use model::{DreamModel, KvCache, ModelInput};
pub use request::{InfillRequest, InfillResult, Span};
pub use sampler::{generate, Alg, Canvas, Generation, SamplingSettings, StepCost, StepEvent};
pub use tokenizer::DreamTokenizer;
