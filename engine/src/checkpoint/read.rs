//! Reading from files: a small file whole (with a size limit checked before a byte is read),
//! and a float tensor straight into its buffer, checked for NaN and infinity.

use std::path::Path;

use candle_core::{DType, Device, Tensor};

use crate::error::{Error, Result};

/// The bytes of `path`, refused (naming the file and the limit) when it is over `max` bytes.
pub(crate) fn read_limited(path: &Path, max: u64) -> Result<Vec<u8>> {
    let len = std::fs::metadata(path).map_err(|e| Error::io(path, e))?.len();
    if len > max {
        return Err(Error::Config {
            path: path.to_owned(),
            field: "(file)",
            reason: format!("{len} bytes; the limit for this file is {max}"),
        });
    }
    std::fs::read(path).map_err(|e| Error::io(path, e))
}

/// A float type as a file stores it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Stored {
    F32,
    F16,
    Bf16,
}

/// Reads the tensor `name` (`shape`, stored as `stored` at byte `offset` of `path`) straight
/// into a buffer of its stored type, refuses it if any value is NaN or infinite (a damaged or
/// badly converted file would otherwise write text from garbage), then converts it to `dtype`
/// on `device`. One tensor at a time, so loading never holds a second copy of the weights.
pub(crate) fn read_float_tensor(
    path: &Path,
    offset: u64,
    stored: Stored,
    shape: &[usize],
    name: &str,
    dtype: DType,
    device: &Device,
) -> Result<Tensor> {
    fn checked<T: bytemuck::Pod + Finite + candle_core::WithDType>(
        path: &Path,
        offset: u64,
        shape: &[usize],
        name: &str,
    ) -> Result<Tensor> {
        let values = read_elements::<T>(path, offset, shape.iter().product()).map_err(|e| Error::io(path, e))?;
        if !all_finite(&values) {
            return Err(Error::NonFiniteWeights { name: name.to_owned(), path: path.to_owned() });
        }
        Ok(Tensor::from_vec(values, shape, &Device::Cpu)?)
    }
    let tensor = match stored {
        Stored::F32 => checked::<f32>(path, offset, shape, name)?,
        Stored::F16 => checked::<half::f16>(path, offset, shape, name)?,
        Stored::Bf16 => checked::<half::bf16>(path, offset, shape, name)?,
    };
    Ok(tensor.to_dtype(dtype)?.to_device(device)?)
}

/// Floats that can be NaN or infinite.
pub(crate) trait Finite: Sync {
    fn finite(&self) -> bool;
}
impl Finite for f32 {
    fn finite(&self) -> bool {
        self.is_finite()
    }
}
impl Finite for half::f16 {
    fn finite(&self) -> bool {
        self.is_finite()
    }
}
impl Finite for half::bf16 {
    fn finite(&self) -> bool {
        self.is_finite()
    }
}

/// Whether every value is finite; the buffer was just read, so this pass over it is a small
/// fraction of the read (in parallel, in cache-sized chunks).
pub(crate) fn all_finite<T: Finite>(values: &[T]) -> bool {
    use rayon::prelude::*;
    values.par_chunks(1 << 16).all(|chunk| chunk.iter().all(Finite::finite))
}

/// Reads `n` little-endian elements at `offset` of `path` straight into a typed buffer. `Pod`
/// types (f32, f16, bf16, bytes) accept every bit pattern, and the files store little-endian
/// data, as every platform Dream Writer targets is.
pub(crate) fn read_elements<T: bytemuck::Pod>(path: &Path, offset: u64, n: usize) -> std::io::Result<Vec<T>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut out = vec![T::zeroed(); n];
    let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut out);
    let mut file = std::fs::File::open(path)?;
    file.seek(SeekFrom::Start(offset))?;
    file.read_exact(bytes)?;
    Ok(out)
}
