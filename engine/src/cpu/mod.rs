//! The engine's own CPU backend, beside candle's: the f32 products a slab of weight rows at a
//! time, ggml's quantized blocks decoded in vectorised loops, the fused element-wise kernels,
//! and how the allocator treats a step's large buffers.

pub mod allocator;
pub(crate) mod dequant;
pub(crate) mod kernels;
pub(crate) mod slabs;
