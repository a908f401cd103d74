//! A checkpoint's weights: locating its safetensors files, reading each tensor once (checked
//! for shape and for NaN or infinite values) from them, from a GGUF file or from memory.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use candle_core::quantized::QMatMul;
use candle_core::{DType, Device, Tensor};
use candle_nn::{Embedding, VarBuilder};

use crate::checkpoint::gguf::GgufFile;
use crate::checkpoint::read::{read_float_tensor, Stored};
use crate::model::layers::{Proj, TokenEmbedding};

use crate::error::{Error, Result};

const SINGLE: &str = "model.safetensors";
const INDEX: &str = "model.safetensors.index.json";

/// The weight files of a checkpoint folder: `model.safetensors`, or the shards named in
/// `model.safetensors.index.json`.
pub fn weight_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let index = dir.join(INDEX);
    if index.is_file() {
        let text = std::fs::read_to_string(&index).map_err(|e| Error::io(&index, e))?;
        let json: serde_json::Value = serde_json::from_str(&text).map_err(|source| Error::Json {
            path: index.clone(),
            field: ".".into(),
            source,
        })?;
        let map = json.get("weight_map").and_then(|m| m.as_object()).ok_or_else(|| Error::Config {
            path: index.clone(),
            field: "weight_map",
            reason: "missing or not an object".into(),
        })?;
        let mut files: Vec<PathBuf> = Vec::new();
        for shard in map.values() {
            let name = shard.as_str().ok_or_else(|| Error::Config {
                path: index.clone(),
                field: "weight_map",
                reason: format!("shard name {shard} is not a string"),
            })?;
            // A shard lives beside the index: a plain file name, never a path that leads elsewhere.
            let plain = Path::new(name).file_name().is_some_and(|n| n == name) && name != "..";
            if !plain || !name.ends_with(".safetensors") {
                return Err(Error::Config {
                    path: index.clone(),
                    field: "weight_map",
                    reason: format!("shard `{name}` is not a .safetensors file name in the model folder"),
                });
            }
            let path = dir.join(name);
            if !files.contains(&path) {
                files.push(path);
            }
        }
        return Ok(files);
    }
    let single = dir.join(SINGLE);
    if single.is_file() {
        Ok(vec![single])
    } else {
        Err(Error::FileMissing { path: single })
    }
}

/// Tensor name -> (shape on disk, file it lives in).
type ShapeIndex = HashMap<String, (Vec<usize>, Arc<Path>)>;

/// Where the tensors come from.
#[derive(Clone)]
enum Source {
    /// Safetensors files, each tensor read when asked for.
    Files { files: Arc<FileBackend>, dtype: DType, device: Device },
    /// In-memory tensors, through candle's `VarBuilder`.
    Memory(VarBuilder<'static>),
    /// A GGUF file: matrices stay quantized; tensors are looked up by their GGUF names.
    Gguf { file: Arc<GgufFile>, dtype: DType, device: Device },
}

/// A checkpoint's weights with a name prefix, in the spirit of candle's `VarBuilder::pp`, that
/// check every tensor's presence and shape and say which file is at fault. Names are the
/// official checkpoint's; for GGUF they are mapped to llama.cpp's.
#[derive(Clone)]
pub struct Weights {
    source: Source,
    shapes: Arc<ShapeIndex>,
    files: Arc<str>,
    prefix: String,
}

impl Weights {
    /// Indexes the given safetensors files (reading only their headers; a truncated or malformed
    /// file is reported with its path). Tensors are read from disk when the model asks for
    /// them, straight into their final buffers: loading never holds a second copy of the
    /// weights, so peak memory stays close to the weights' size.
    pub fn from_safetensors(files: &[PathBuf], dtype: DType, device: &Device) -> Result<Self> {
        let backend = FileBackend::open(files)?;
        let shapes = backend
            .index
            .iter()
            .map(|(name, t)| (name.clone(), (t.shape.clone(), backend.files[t.file].clone())))
            .collect();
        let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
        let source = Source::Files { files: Arc::new(backend), dtype, device: device.clone() };
        Ok(Self::new(source, shapes, names.join(", ")))
    }

    /// In-memory tensors, e.g. random weights for benchmarks.
    pub fn from_tensors(tensors: HashMap<String, Tensor>, dtype: DType, device: &Device) -> Self {
        let origin: Arc<Path> = Arc::from(Path::new("<memory>"));
        let shapes = tensors.iter().map(|(name, t)| (name.clone(), (t.dims().to_vec(), origin.clone()))).collect();
        Self::new(Source::Memory(VarBuilder::from_tensors(tensors, dtype, device)), shapes, "<memory>".into())
    }

    /// A GGUF file; activations (and the few dense tensors: norms, biases) use `dtype`.
    pub fn from_gguf(file: GgufFile, dtype: DType, device: &Device) -> Self {
        let origin: Arc<Path> = Arc::from(file.path.as_path());
        let shapes = crate::checkpoint::gguf::shapes(&file)
            .into_iter()
            .map(|(name, dims)| (name, (dims, origin.clone())))
            .collect();
        let files = file.path.display().to_string();
        Self::new(Source::Gguf { file: Arc::new(file), dtype, device: device.clone() }, shapes, files)
    }

    fn new(source: Source, shapes: ShapeIndex, files: String) -> Self {
        Weights { source, shapes: Arc::new(shapes), files: files.into(), prefix: String::new() }
    }

    /// The same weights seen under `prefix.`.
    pub fn pp(&self, prefix: impl std::fmt::Display) -> Self {
        let prefix = if self.prefix.is_empty() { prefix.to_string() } else { format!("{}.{prefix}", self.prefix) };
        Weights { prefix, ..self.clone() }
    }

    /// The stored name of `name` under the current prefix, after checking that it exists with
    /// exactly `shape`.
    fn checked(&self, shape: &[usize], name: &str) -> Result<String> {
        let full = if self.prefix.is_empty() { name.to_owned() } else { format!("{}.{name}", self.prefix) };
        let stored = match &self.source {
            Source::Gguf { .. } => crate::checkpoint::gguf::gguf_name(&full),
            _ => full,
        };
        let Some((actual, path)) = self.shapes.get(&stored) else {
            return Err(Error::MissingTensor { name: stored, files: self.files.to_string() });
        };
        if actual.as_slice() != shape {
            return Err(Error::TensorShape {
                name: stored,
                path: path.to_path_buf(),
                expected: shape.to_vec(),
                actual: actual.clone(),
            });
        }
        Ok(stored)
    }

    /// Loads tensor `name` (under the current prefix) as a dense tensor in the target dtype,
    /// after checking that it exists with exactly `shape`.
    pub fn get(&self, shape: &[usize], name: &str) -> Result<Tensor> {
        let stored = self.checked(shape, name)?;
        match &self.source {
            Source::Files { files, dtype, device } => files.read(&stored, *dtype, device),
            Source::Memory(vb) => Ok(vb.get(shape, &stored)?),
            Source::Gguf { file, dtype, device } => match file.float_tensor(&stored, *dtype, device)? {
                Some(t) => Ok(t),
                None => Ok(file.qtensor(&stored, device)?.dequantize(device)?.to_dtype(*dtype)?),
            },
        }
    }

    /// The projection `{prefix}.weight [out, in]` (and `{prefix}.bias [out]`), kept quantized
    /// when the file is.
    pub fn linear(&self, out_dim: usize, in_dim: usize, bias: bool) -> Result<Proj> {
        let bias = if bias { Some(self.get(&[out_dim], "bias")?) } else { None };
        match &self.source {
            Source::Gguf { file, device, dtype } => {
                let stored = self.checked(&[out_dim, in_dim], "weight")?;
                match file.float_tensor(&stored, *dtype, device)? {
                    Some(w) => Proj::dense(w, bias),
                    None => Proj::quantized(
                        file.qtensor_parts(&stored, crate::model::layers::QUANTIZED_PART_ELEMS, device)?,
                        bias,
                    ),
                }
            }
            // A tensor handed in stays as it was: the projection rearranges its own copy.
            Source::Memory(_) => Proj::dense(self.get(&[out_dim, in_dim], "weight")?.copy()?, bias),
            Source::Files { .. } => Proj::dense(self.get(&[out_dim, in_dim], "weight")?, bias),
        }
    }

    /// The token embedding table `{prefix}.weight [vocab, hidden]`, kept quantized when the file is.
    pub fn embedding(&self, vocab: usize, hidden: usize) -> Result<TokenEmbedding> {
        match &self.source {
            Source::Gguf { file, device, dtype } => {
                let stored = self.checked(&[vocab, hidden], "weight")?;
                Ok(match file.float_tensor(&stored, *dtype, device)? {
                    Some(w) => TokenEmbedding::Dense(Embedding::new(w, hidden)),
                    None => TokenEmbedding::Quantized {
                        table: QMatMul::from_qtensor(file.qtensor(&stored, device)?)?,
                        dtype: *dtype,
                    },
                })
            }
            _ => Ok(TokenEmbedding::Dense(Embedding::new(self.get(&[vocab, hidden], "weight")?, hidden))),
        }
    }

    /// The dtype of activations and dense tensors.
    pub fn dtype(&self) -> DType {
        match &self.source {
            Source::Memory(vb) => vb.dtype(),
            Source::Files { dtype, .. } | Source::Gguf { dtype, .. } => *dtype,
        }
    }

    /// Where the loaded tensors are placed.
    pub fn device(&self) -> &Device {
        match &self.source {
            Source::Memory(vb) => vb.device(),
            Source::Files { device, .. } | Source::Gguf { device, .. } => device,
        }
    }
}

/// Where one tensor lives on disk.
struct StoredTensor {
    file: usize,
    /// Byte offset of its data in the file.
    offset: u64,
    dtype: safetensors::Dtype,
    shape: Vec<usize>,
}

/// Where each tensor of a checkpoint's safetensors files is, to read it when asked for.
struct FileBackend {
    files: Vec<Arc<Path>>,
    index: HashMap<String, StoredTensor>,
}

impl FileBackend {
    fn open(files: &[PathBuf]) -> Result<Self> {
        let mut index = HashMap::new();
        for (i, path) in files.iter().enumerate() {
            let corrupt = |reason: String| Error::CorruptWeights { path: path.clone(), reason };
            let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
            // SAFETY: mapped read-only to parse the header (only its pages are touched); the
            // map is dropped before any tensor is read.
            let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| Error::io(path, e))?;
            let (header_len, metadata) =
                safetensors::SafeTensors::read_metadata(&map).map_err(|e| corrupt(e.to_string()))?;
            let data_start = 8 + header_len as u64;
            for (name, info) in metadata.tensors() {
                index.insert(
                    name,
                    StoredTensor {
                        file: i,
                        offset: data_start + info.data_offsets.0 as u64,
                        dtype: info.dtype,
                        shape: info.shape.clone(),
                    },
                );
            }
        }
        Ok(FileBackend { files: files.iter().map(|f| Arc::from(f.as_path())).collect(), index })
    }

    /// Reads tensor `name` (see [`read_float_tensor`]).
    fn read(&self, name: &str, dtype: DType, device: &Device) -> Result<Tensor> {
        let t = self.index.get(name).ok_or_else(|| Error::MissingTensor {
            name: name.to_owned(),
            files: self.files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(", "),
        })?;
        let path = &self.files[t.file];
        let stored = match t.dtype {
            safetensors::Dtype::F32 => Stored::F32,
            safetensors::Dtype::F16 => Stored::F16,
            safetensors::Dtype::BF16 => Stored::Bf16,
            other => {
                return Err(Error::CorruptWeights {
                    path: path.to_path_buf(),
                    reason: format!("tensor `{name}` has unsupported dtype {other:?} (F32, F16 and BF16 are)"),
                })
            }
        };
        read_float_tensor(path, t.offset, stored, &t.shape, name, dtype, device)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A projection stores its weight rearranged for the CPU's products (in place, for
    /// weights read from files); weights handed in as tensors stay as the caller has them, and
    /// the projection multiplies as the plain matrix does.
    #[test]
    fn tensors_handed_in_are_left_as_they_were() -> Result<()> {
        let dev = Device::Cpu;
        let w = Tensor::randn(0f32, 1.0, (130, 48), &dev)?;
        let before = w.to_vec2::<f32>()?;
        let weights = Weights::from_tensors(HashMap::from([("p.weight".to_owned(), w.clone())]), DType::F32, &dev);
        let proj = weights.pp("p").linear(130, 48, false)?;
        assert!(matches!(proj, Proj::Panels { .. }));
        assert_eq!(w.to_vec2::<f32>()?, before);
        let x = Tensor::randn(0f32, 1.0, (3, 48), &dev)?;
        let diff = (proj.forward(&x)? - x.matmul(&w.t()?)?)?.abs()?.flatten_all()?.max(0)?.to_scalar::<f32>()?;
        assert!(diff < 1e-4, "{diff}");
        Ok(())
    }
}
