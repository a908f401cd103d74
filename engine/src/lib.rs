//! The Dream diffusion language model engine.
//!
//! Loads a Dream checkpoint (config, tokenizer, safetensors) with candle and samples from it
//! exactly as the official implementation does, one denoising step at a time: masked spans
//! anywhere in a text, a continuation, a pinned ending. The `dream` CLI and the Dream Writer
//! app are thin layers over [`Dream`].

pub mod allocator;
pub mod chat;
pub mod checkpoint;
pub mod config;
pub mod demo;
mod dequant;
pub mod device;
pub mod engine;
pub mod error;
pub mod gguf;
mod gguf_header;
pub mod hub;
pub mod json;
mod kernels;
mod layers;
pub mod memory;
pub mod model;
pub mod quantize;
pub mod random;
mod read;
pub mod request;
pub mod sampler;
mod slabs;
pub mod tokenizer;
pub mod weights;

/// The candle version the engine is built on, for crates that pass tensors or devices in.
pub use candle_core;
pub use config::{DreamConfig, StepFlops};
pub use device::{DeviceChoice, Precision};
pub use engine::{Dream, InfillEvent, InfillStep, Infilled};
pub use error::{Error, Result};
pub use model::{DreamModel, KvCache, ModelInput};
pub use request::{InfillRequest, InfillResult, Span};
pub use sampler::{generate, Alg, Canvas, Generation, SamplingSettings, StepCost, StepEvent};
pub use tokenizer::DreamTokenizer;
pub use weights::Weights;
