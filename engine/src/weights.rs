//! Locating, validating and memory-mapping a checkpoint's safetensors files.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use candle_core::safetensors::MmapedSafetensors;
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;

use crate::error::{Error, Result};

const SINGLE: &str = "model.safetensors";
const INDEX: &str = "model.safetensors.index.json";

/// The weight files of a checkpoint folder: `model.safetensors`, or the shards named in
/// `model.safetensors.index.json`.
pub fn weight_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let index = dir.join(INDEX);
    if index.is_file() {
        let text = std::fs::read_to_string(&index).map_err(|e| Error::io(&index, e))?;
        let json: serde_json::Value =
            serde_json::from_str(&text).map_err(|source| Error::Json { path: index.clone(), source })?;
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

/// Memory-mapped weights with a name prefix, in the spirit of candle's `VarBuilder::pp`, that
/// check every tensor's presence and shape and say which file is at fault.
#[derive(Clone)]
pub struct Weights {
    vb: VarBuilder<'static>,
    shapes: Arc<ShapeIndex>,
    files: Arc<str>,
    prefix: String,
}

impl Weights {
    /// Maps the given safetensors files (no copy until a tensor is read) and indexes their
    /// tensors. A truncated or malformed file is reported with its path.
    pub fn from_safetensors(files: &[PathBuf], dtype: DType, device: &Device) -> Result<Self> {
        let mut shapes = HashMap::new();
        for file in files {
            if !file.is_file() {
                return Err(Error::FileMissing { path: file.clone() });
            }
            // SAFETY: the file is mapped read-only; like every mmap-based loader we rely on the
            // checkpoint not being modified while the model is loaded.
            let st = unsafe { MmapedSafetensors::new(file) }
                .map_err(|e| Error::CorruptWeights { path: file.clone(), reason: root_cause(&e) })?;
            let origin: Arc<Path> = Arc::from(file.as_path());
            for (name, view) in st.tensors() {
                shapes.insert(name, (view.shape().to_vec(), origin.clone()));
            }
        }
        // SAFETY: as above.
        let vb = unsafe { VarBuilder::from_mmaped_safetensors(files, dtype, device) }?;
        let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
        Ok(Self::new(vb, shapes, names.join(", ")))
    }

    /// In-memory tensors, e.g. random weights for benchmarks.
    pub fn from_tensors(tensors: HashMap<String, Tensor>, dtype: DType, device: &Device) -> Self {
        let origin: Arc<Path> = Arc::from(Path::new("<memory>"));
        let shapes = tensors.iter().map(|(name, t)| (name.clone(), (t.dims().to_vec(), origin.clone()))).collect();
        Self::new(VarBuilder::from_tensors(tensors, dtype, device), shapes, "<memory>".into())
    }

    fn new(vb: VarBuilder<'static>, shapes: ShapeIndex, files: String) -> Self {
        Weights { vb, shapes: Arc::new(shapes), files: files.into(), prefix: String::new() }
    }

    /// The same weights seen under `prefix.`.
    pub fn pp(&self, prefix: impl std::fmt::Display) -> Self {
        let prefix = if self.prefix.is_empty() { prefix.to_string() } else { format!("{}.{prefix}", self.prefix) };
        Weights { prefix, ..self.clone() }
    }

    /// Loads tensor `name` (under the current prefix), converted to the target dtype, after
    /// checking that it exists with exactly `shape`.
    pub fn get(&self, shape: &[usize], name: &str) -> Result<Tensor> {
        let full = if self.prefix.is_empty() { name.to_owned() } else { format!("{}.{name}", self.prefix) };
        let Some((actual, path)) = self.shapes.get(&full) else {
            return Err(Error::MissingTensor { name: full, files: self.files.to_string() });
        };
        if actual.as_slice() != shape {
            return Err(Error::TensorShape {
                name: full,
                path: path.to_path_buf(),
                expected: shape.to_vec(),
                actual: actual.clone(),
            });
        }
        Ok(self.vb.get(shape, &full)?)
    }

    pub fn dtype(&self) -> DType {
        self.vb.dtype()
    }

    pub fn device(&self) -> &Device {
        self.vb.device()
    }
}

/// The innermost message of a candle error, without backtrace noise.
fn root_cause(e: &candle_core::Error) -> String {
    let mut msg = e.to_string();
    if let Some(first) = msg.lines().next() {
        msg = first.to_owned();
    }
    msg
}
