//! GGUF files made by llama.cpp load here, and ours load in llama.cpp: opt-in, since it needs
//! llama.cpp built from source and its Python converter (`bash scripts/llama-cpp-interop.sh`
//! does all of it and runs these tests with `DREAM_LLAMA_CPP_DIR` set). The checkpoint is
//! random but real-size where it matters: Qwen2.5's 151,936-token vocabulary and 256-wide rows,
//! so k-quants are stored as such.
mod common;

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{DType, Device, Tensor};
use dream_engine::checkpoint::gguf::gguf_name;
use dream_engine::checkpoint::quantize::{quantize, QuantType};
use dream_engine::{Dream, DreamConfig, InfillRequest, ModelInput, Precision};

/// The folder the interop script works in.
fn work() -> PathBuf {
    PathBuf::from(std::env::var("DREAM_LLAMA_CPP_DIR").expect("set DREAM_LLAMA_CPP_DIR (scripts/llama-cpp-interop.sh)"))
}

const TEXT: &str = "The lighthouse keeper wrote: «Héllo, wörld!» 你好 🌍 fn main() { let x = 42; }";

/// Step 1: the checkpoint llama.cpp's converter reads (`ckpt/`: config.json, model.safetensors
/// and the official repos' tokenizer layout), and our own GGUF copies of it (`ours/`) for
/// `llama-diffusion-cli`.
#[test]
#[ignore = "run by scripts/llama-cpp-interop.sh"]
fn interop_prepare() {
    let ckpt = common::qwen::real_vocab_checkpoint_of(&DreamConfig::small_shape(), &work().join("ckpt"));
    let ours = work().join("ours");
    std::fs::create_dir_all(&ours).unwrap();
    for (qtype, name) in [(QuantType::Q8_0, "q8_0"), (QuantType::Q4K, "q4_k"), (QuantType::F16, "f16")] {
        let report = quantize(&ckpt, &ours.join(format!("{name}.gguf")), qtype).unwrap();
        // Every matrix row is 256 or 768 wide: each type is stored as asked, no fallback.
        assert!(report.fallbacks.is_empty(), "{name}: {:?}", report.fallbacks);
    }
}

/// Each quantized tensor of llama.cpp's `file`, as the engine reads its blocks, against the
/// dense checkpoint rounded to f16 (as the converter did before `llama-quantize`): its
/// relative RMS error, and that of candle's own quantizer to the same type. Blocks read with
/// the wrong layout would be off by the size of the weights themselves (about 1.4).
fn block_errors(file: &std::path::Path) -> Vec<(String, GgmlDType, f32, f32)> {
    let gguf = dream_engine::checkpoint::gguf::GgufFile::open(file).unwrap();
    let dense = candle_core::safetensors::load(work().join("ckpt/model.safetensors"), &Device::Cpu).unwrap();
    let relative = |a: &Tensor, b: &Tensor| {
        let rms = |t: &Tensor| t.sqr().unwrap().mean_all().unwrap().to_scalar::<f32>().unwrap().sqrt();
        rms(&(a - b).unwrap()) / rms(b)
    };
    let mut out = Vec::new();
    for (name, t) in dense {
        let stored = gguf_name(&name);
        let kind = gguf.content.tensor_infos[&stored].ggml_dtype;
        if matches!(kind, GgmlDType::F32 | GgmlDType::F16) {
            continue;
        }
        let halves = t.to_dtype(DType::F16).unwrap().to_dtype(DType::F32).unwrap();
        let read = gguf.qtensor(&stored, &Device::Cpu).unwrap();
        let theirs = relative(&read.dequantize(&Device::Cpu).unwrap(), &halves);
        let candle = relative(&QTensor::quantize(&halves, kind).unwrap().dequantize(&Device::Cpu).unwrap(), &halves);
        out.push((stored, kind, theirs, candle));
    }
    out
}

/// Step 2: every GGUF llama.cpp made of the checkpoint (`llama/*.gguf`), alone in a folder (no
/// tokenizer files beside it), loads with the tokenizer from its own metadata, gives the real
/// tokenizer's ids, stays near the dense model's logits, and writes.
#[test]
#[ignore = "run by scripts/llama-cpp-interop.sh"]
fn interop_llama_cpp_files_load() {
    let ckpt = work().join("ckpt");
    let dense = Dream::load(&ckpt, &Device::Cpu, Some(Precision::F32)).unwrap();
    let want = dense.tokenizer.encode(TEXT).unwrap();
    let ids = vec![want.clone()];
    let input = ModelInput::new(&ids, None, &Device::Cpu).unwrap();
    let reference = dense.model.forward(&input).unwrap();
    let scale = reference.abs().unwrap().mean_all().unwrap().to_scalar::<f32>().unwrap();
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(work().join("llama")).unwrap().flatten().map(|e| e.path()).collect();
    files.retain(|p| p.extension().is_some_and(|e| e == "gguf"));
    files.sort();
    assert!(files.len() >= 6, "the script makes F16, Q8_0, Q4_0, Q4_K_M, Q5_K_M and Q6_K: {files:?}");
    for file in files {
        let alone = tempfile::tempdir().unwrap();
        let path = alone.path().join(file.file_name().unwrap());
        std::fs::copy(&file, &path).unwrap();
        let started = std::time::Instant::now();
        let dream = Dream::load(&path, &Device::Cpu, Some(Precision::F32)).unwrap_or_else(|e| panic!("{e}"));
        let load = started.elapsed();
        assert_eq!(dream.tokenizer.encode(TEXT).unwrap(), want, "{}", file.display());
        assert_eq!(dream.tokenizer.decode(&want).unwrap(), TEXT);
        assert_eq!((dream.config.vocab_size, dream.config.mask_token_id), (151_936, 151_666));
        let logits = dream.model.forward(&input).unwrap();
        let error = (&logits - &reference).unwrap().abs().unwrap().mean_all().unwrap().to_scalar::<f32>().unwrap();
        let relative = error / scale;
        eprintln!(
            "{}: loaded in {load:?}; mean |logit error| {error:.4} = {relative:.4} of mean |logit|",
            file.display()
        );
        if file.ends_with("f16.gguf") {
            // llama.cpp's F16 file holds the very halves our own F16 copy holds: the same logits.
            let ours = Dream::load(&work().join("ours/f16.gguf"), &Device::Cpu, Some(Precision::F32)).unwrap();
            let diff = (&logits - ours.model.forward(&input).unwrap()).unwrap().abs().unwrap();
            let diff = diff.max_all().unwrap().to_scalar::<f32>().unwrap();
            assert!(diff < 1e-4, "llama.cpp's F16 vs ours: max |logit difference| {diff}");
        }
        // Quantized blocks are read as llama.cpp laid them out: each tensor is as close to
        // the weights as candle's own quantizer gets with that type (ggml's k-quant search
        // does better; Q4_0 and Q8_0 are the same algorithm, so equal).
        for (name, kind, theirs, candle) in block_errors(&file) {
            eprintln!("  {name} {kind:?}: relative RMS error {theirs:.4} (candle's quantizer {candle:.4})");
            assert!(theirs <= candle * 1.01 + 1e-6, "{}: {name} {kind:?}: {theirs} vs {candle}", file.display());
        }
        let request: InfillRequest = serde_json::from_value(serde_json::json!({
            "text": TEXT, "spans": [{"start": 4, "end": 14, "tokens": 6}], "settings": {"steps": 6}
        }))
        .unwrap();
        let done = dream.infill(&request, &AtomicBool::new(false), &mut |_| {}).unwrap();
        assert!(done.candidates[0].text.ends_with("fn main() { let x = 42; }"));
        assert_eq!(dream.model.dtype(), DType::F32);
    }
}
