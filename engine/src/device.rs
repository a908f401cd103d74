//! Choosing the compute device and the weights' dtype.

use candle_core::{DType, Device};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Where to run the model.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceChoice {
    /// The first GPU this build supports (CUDA, then Metal), else the CPU.
    #[default]
    Auto,
    Cpu,
    #[cfg_attr(feature = "cli", value(alias = "gpu"))]
    Cuda,
    Metal,
}

impl DeviceChoice {
    /// Opens the device, with a plain reason when this build or machine lacks it.
    pub fn open(self) -> Result<Device> {
        match self {
            Self::Cpu => Ok(Device::Cpu),
            Self::Cuda => open_gpu("cuda", candle_core::utils::cuda_is_available(), || Device::new_cuda(0)),
            Self::Metal => open_gpu("metal", candle_core::utils::metal_is_available(), || Device::new_metal(0)),
            Self::Auto => {
                if candle_core::utils::cuda_is_available() {
                    if let Ok(d) = Device::new_cuda(0) {
                        return Ok(d);
                    }
                }
                if candle_core::utils::metal_is_available() {
                    if let Ok(d) = Device::new_metal(0) {
                        return Ok(d);
                    }
                }
                Ok(Device::Cpu)
            }
        }
    }
}

fn open_gpu(name: &str, compiled: bool, open: impl FnOnce() -> candle_core::Result<Device>) -> Result<Device> {
    if !compiled {
        return Err(Error::Device {
            requested: name.into(),
            reason: format!("this build has no {name} support; rebuild with `--features {name}`"),
        });
    }
    open().map_err(|e| Error::Device { requested: name.into(), reason: e.to_string() })
}

/// The floating-point type of the weights and activations.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    #[cfg_attr(feature = "cli", value(alias = "float32"))]
    F32,
    #[cfg_attr(feature = "cli", value(alias = "bfloat16"))]
    Bf16,
    #[cfg_attr(feature = "cli", value(alias = "float16"))]
    F16,
}

impl Precision {
    /// bf16 on a GPU (Dream's training dtype, half the memory), f32 on the CPU (where bf16
    /// matmuls are slow and gain nothing in accuracy).
    pub fn default_for(device: &Device) -> Self {
        if device.is_cpu() {
            Precision::F32
        } else {
            Precision::Bf16
        }
    }

    /// The tensors' dtype.
    pub fn dtype(self) -> DType {
        match self {
            Precision::F32 => DType::F32,
            Precision::Bf16 => DType::BF16,
            Precision::F16 => DType::F16,
        }
    }

    /// The precision of `dtype`, when it is one a model runs in.
    pub fn of(dtype: DType) -> Option<Self> {
        match dtype {
            DType::F32 => Some(Precision::F32),
            DType::BF16 => Some(Precision::Bf16),
            DType::F16 => Some(Precision::F16),
            _ => None,
        }
    }

    /// `f32`, `bf16` or `f16`.
    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::Bf16 => "bf16",
            Precision::F16 => "f16",
        }
    }
}

impl std::fmt::Display for Precision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A short human name of the device.
pub fn describe(device: &Device) -> String {
    match device {
        Device::Cpu => "CPU".into(),
        Device::Cuda(_) => "CUDA GPU 0".into(),
        Device::Metal(_) => "Metal GPU".into(),
    }
}

/// A GPU the machine has, as its driver reports it.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpuInfo {
    pub name: String,
    pub memory_total: u64,
    pub memory_free: u64,
}

/// NVIDIA GPUs as `nvidia-smi` lists them (empty when there is none or no driver). Asking the
/// driver's tool works whether or not this build has the `cuda` feature, so the app can say
/// what a CUDA build would use.
pub fn nvidia_gpus() -> Vec<GpuInfo> {
    let out = std::process::Command::new("nvidia-smi")
        .args(["--query-gpu=name,memory.total,memory.free", "--format=csv,noheader,nounits"])
        .output();
    match out {
        Ok(o) if o.status.success() => parse_nvidia_smi(&String::from_utf8_lossy(&o.stdout)),
        _ => Vec::new(),
    }
}

/// Parses `name, total MiB, free MiB` lines.
fn parse_nvidia_smi(csv: &str) -> Vec<GpuInfo> {
    csv.lines()
        .filter_map(|line| {
            let mut parts = line.rsplitn(3, ',').map(str::trim);
            let free: u64 = parts.next()?.parse().ok()?;
            let total: u64 = parts.next()?.parse().ok()?;
            let name = parts.next()?.to_owned();
            Some(GpuInfo { name, memory_total: total << 20, memory_free: free << 20 })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_nvidia_smi_csv() {
        let csv = "NVIDIA H100 80GB HBM3, 81559, 80935\nNVIDIA GeForce RTX 4090, 24564, 1200\n";
        let gpus = parse_nvidia_smi(csv);
        assert_eq!(gpus.len(), 2);
        assert_eq!(gpus[0].name, "NVIDIA H100 80GB HBM3");
        assert_eq!(gpus[0].memory_total, 81_559 << 20);
        assert_eq!(gpus[1].memory_free, 1200 << 20);
        assert!(parse_nvidia_smi("No devices were found\n").is_empty());
    }

    #[test]
    fn a_gpu_the_build_lacks_is_named_with_the_fix() {
        let err = DeviceChoice::Cuda.open().unwrap_err();
        assert!(err.to_string().contains("--features cuda"), "{err}");
    }

    #[cfg(feature = "cli")]
    #[test]
    fn device_and_precision_names_parse_in_any_case_with_their_aliases() {
        use clap::ValueEnum;
        assert_eq!(DeviceChoice::from_str("Metal", true).unwrap(), DeviceChoice::Metal);
        assert_eq!(DeviceChoice::from_str("gpu", true).unwrap(), DeviceChoice::Cuda);
        assert!(DeviceChoice::from_str("tpu", true).is_err());
        assert_eq!(Precision::from_str("BFloat16", true).unwrap(), Precision::Bf16);
    }
}
