//! GGUF: quantize the fixture checkpoint, load it back, compare with the official f32 numbers.
mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use candle_core::Device;
use dream_engine::checkpoint::quantize::{quantize, QuantType};
use dream_engine::{Dream, Error};

/// Loads a file on the test device, computing in f32 so only the quantization is measured.
fn load(path: &Path) -> dream_engine::Result<Dream> {
    Dream::load(path, &common::device(), Some(dream_engine::Precision::F32))
}

fn quantized(dir: &Path, qtype: QuantType) -> PathBuf {
    let out = dir.join(format!("dream-tiny-{qtype:?}.gguf"));
    quantize(&common::fixture_dir(), &out, qtype).unwrap();
    out
}

#[test]
fn q8_0_stays_within_bf16_error_and_keeps_the_trajectories_the_margins_allow() {
    let tmp = tempfile::tempdir().unwrap();
    let path = quantized(tmp.path(), QuantType::Q8_0);
    let dream = load(&path).unwrap();
    // The tokenizer and config travel inside the file.
    assert_eq!(dream.tokenizer.encode_markup("w5 w17 <|mask|> w3").unwrap(), vec![5, 17, 997, 3]);
    assert_eq!(dream.config.mask_token_id, 997);
    // The stated tolerance: Q8_0 (8-bit blocks) is held to the error of the f32 model simply
    // run in bf16 (8-bit mantissas). This fixture's deliberately sharp attention amplifies both
    // to a few percent of the logits (measured: Q8_0 mean 0.152 and max 1.54 against mean
    // |logit| 3.30; bf16 0.113 and 1.14).
    let (max, mean, scale, agree) = common::logit_error(&dream.model);
    let bf16 = common::logit_error(&common::model_in(candle_core::DType::BF16));
    eprintln!("vs official f32: Q8_0 max {max} mean {mean}; bf16 max {} mean {}; mean |logit| {scale}", bf16.0, bf16.1);
    assert!(mean <= 1.5 * bf16.1 && max <= 1.5 * bf16.0, "Q8_0 ({max}, {mean}) vs bf16 ({}, {})", bf16.0, bf16.1);
    assert!(agree >= 22, "top-1 agreement {agree}/24");

    // Trajectories: the fixture's official ranking margins are 0.005-0.09, narrower than what
    // Q8_0 moves probabilities on these weights, except in B5 and B6 (measured: those 6 of 21
    // stay identical; F16 keeps all 21, see below).
    let same = common::identical_trajectories(&dream.model);
    eprintln!("Q8_0: {} of 21 trajectories identical: {same:?}", same.len());
    assert!(same.len() >= 6, "{same:?}");
}

#[test]
fn f16_keeps_every_trajectory_and_is_closer_than_q8_0() {
    let tmp = tempfile::tempdir().unwrap();
    let f16 = common::logit_error(&load(&quantized(tmp.path(), QuantType::F16)).unwrap().model);
    let q8 = common::logit_error(&load(&quantized(tmp.path(), QuantType::Q8_0)).unwrap().model);
    eprintln!("(max, mean |logit error|, mean |logit|, top-1 of 24): f16 {f16:?}, q8_0 {q8:?}");
    assert!(f16.0 < 0.1 && f16.1 < q8.1 / 10.0 && f16.3 == 24, "f16 {f16:?}, q8_0 {q8:?}");
    let dream = load(&quantized(tmp.path(), QuantType::F16)).unwrap();
    assert_eq!(common::identical_trajectories(&dream.model).len(), 21, "F16 keeps every official trajectory");
}

/// Quantized files in the dtypes a GPU runs (bf16 by default on CUDA and Metal, f16), on the
/// test device. They failed on their first step (the quantized embedding gave f32 to norms
/// running in the model's dtype). The stated tolerance: a file run in a dtype stays within
/// 1.5x the sum of its own quantization error (in f32) and the dense model's error in that
/// dtype, both against the official f32 logits, and keeps top-1 within 2 of its own in f32
/// (4-bit blocks already lose most of it on this fixture's sharp random weights: 4 of 24).
#[test]
fn quantized_files_run_in_bf16_and_f16() {
    let tmp = tempfile::tempdir().unwrap();
    for qtype in [QuantType::Q8_0, QuantType::Q4K, QuantType::F16] {
        let path = quantized(tmp.path(), qtype);
        let in_f32 = common::logit_error(&load(&path).unwrap().model);
        for precision in [dream_engine::Precision::Bf16, dream_engine::Precision::F16] {
            let dtype = precision.dtype();
            let dream = Dream::load(&path, &common::device(), Some(precision)).unwrap();
            assert_eq!(dream.model.dtype(), dtype);
            let (max, mean, _, agree) = common::logit_error(&dream.model);
            let dense = common::logit_error(&common::model_in(dtype));
            eprintln!("{qtype:?} in {dtype:?}: max {max} mean {mean} top-1 {agree}; f32 {in_f32:?}; dense {dense:?}");
            assert!(mean <= 1.5 * (in_f32.1 + dense.1), "{qtype:?} {dtype:?}: mean {mean}");
            assert!(max <= 1.5 * (in_f32.0 + dense.0), "{qtype:?} {dtype:?}: max {max}");
            assert!(agree + 2 >= in_f32.3, "{qtype:?} {dtype:?}: top-1 {agree}/24, {} in f32", in_f32.3);
            // A whole run goes through as well.
            let request: dream_engine::InfillRequest = serde_json::from_value(
                serde_json::json!({ "text": "w5 w17", "continuation": 4, "settings": { "steps": 4 } }),
            )
            .unwrap();
            let done = dream.infill(&request, &AtomicBool::new(false), &mut |_| {}).unwrap();
            assert!(done.candidates[0].text.starts_with("w5 w17"), "{}", done.candidates[0].text);
        }
    }
}

#[test]
fn k_quants_fall_back_on_narrow_rows_and_say_so() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("q4k.gguf");
    let report = quantize(&common::fixture_dir(), &out, QuantType::Q4K).unwrap();
    // Every matrix of this fixture has 64- or 176-wide rows, narrower than a k-quant block (256).
    assert_eq!(report.fallbacks.len(), 2 * 7 + 2, "{:?}", report.fallbacks);
    assert!(report.fallbacks.iter().all(|f| f.ends_with("Q4_0") || f.ends_with("Q8_0") || f.ends_with("F16")));
    // The file really holds 4-bit blocks: its error exceeds Q8_0's, and by no more than the
    // 16x coarser step of 4 bits against 8 (measured on this fixture: mean 1.91 vs 0.152, 12.6x;
    // its sharp random attention amplifies both, see the Q8_0 test).
    let q4 = common::logit_error(&load(&out).unwrap().model);
    let q8 = common::logit_error(&load(&quantized(tmp.path(), QuantType::Q8_0)).unwrap().model);
    eprintln!("mean |logit error|: Q4_K (q4_0 fallbacks) {}, Q8_0 {}", q4.1, q8.1);
    assert!(q4.1 > 2.0 * q8.1 && q4.1 <= 16.0 * q8.1, "Q4 {q4:?} vs Q8_0 {q8:?}");
}

#[test]
fn a_damaged_or_foreign_gguf_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let path = quantized(tmp.path(), QuantType::Q8_0);
    let bytes = std::fs::read(&path).unwrap();
    let cut = tmp.path().join("cut.gguf");
    std::fs::write(&cut, &bytes[..200]).unwrap();
    let err = load(&cut).err().unwrap();
    assert!(matches!(err, Error::CorruptWeights { ref path, .. } if path.ends_with("cut.gguf")), "{err}");
    // Another architecture's name in the header.
    let foreign = tmp.path().join("llama.gguf");
    let at = bytes.windows(5).position(|w| w == b"dream").unwrap();
    let mut other = bytes.clone();
    other[at..at + 5].copy_from_slice(b"llama");
    std::fs::write(&foreign, other).unwrap();
    let err = load(&foreign).err().unwrap();
    assert!(matches!(err, Error::Config { field: "general.architecture", .. }), "{err}");
}

/// A GGUF laid out as llama.cpp's converter writes Dream: the tokenizer as `tokenizer.ggml.*`
/// arrays (tokens padded to the model's vocabulary, token types, merges, `qwen2` pre-tokenizer).
#[test]
fn llama_cpp_tokenizer_arrays_give_the_same_ids() {
    use candle_core::quantized::gguf_file::{self, Value};
    use candle_core::quantized::{GgmlDType, QTensor};
    use dream_engine::checkpoint::gguf::gguf_name;

    let tmp = tempfile::tempdir().unwrap();
    let (json_dir, bpe_dir) = common::qwen::dream_layouts(tmp.path());
    let cfg = common::qwen::dream_config();
    let reference = dream_engine::DreamTokenizer::from_dir(&json_dir, &cfg).unwrap();

    // Tokens by id, as the converter lists them.
    let vocab = reference.inner().get_vocab(true);
    let mut tokens = vec![String::new(); cfg.vocab_size];
    let mut types = vec![5i32; cfg.vocab_size]; // unused padding
    for (i, t) in tokens.iter_mut().enumerate() {
        *t = format!("[PAD{i}]");
    }
    for (token, id) in &vocab {
        tokens[*id as usize] = token.clone();
        types[*id as usize] = if *id >= 151_643 { 3 } else { 1 };
    }
    let merges: Vec<Value> = std::fs::read_to_string(bpe_dir.join("merges.txt"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| Value::String(l.to_owned()))
        .collect();

    // A small random model with Dream's vocabulary.
    let mut small = cfg.clone();
    (small.hidden_size, small.intermediate_size, small.num_hidden_layers) = (64, 128, 1);
    (small.num_attention_heads, small.num_key_value_heads) = (4, 2);
    let mut tensors = Vec::new();
    for (name, shape) in small.tensor_shapes() {
        let t = candle_core::Tensor::randn(0f32, 0.02, shape.as_slice(), &Device::Cpu).unwrap();
        let q = if shape.len() == 2 { GgmlDType::Q8_0 } else { GgmlDType::F32 };
        tensors.push((gguf_name(&name), QTensor::quantize(&t, q).unwrap()));
    }
    let u = |v: usize| Value::U32(v as u32);
    let metadata = vec![
        ("general.architecture", Value::String("dream".into())),
        ("dream.block_count", u(1)),
        ("dream.context_length", u(131_072)),
        ("dream.embedding_length", u(64)),
        ("dream.feed_forward_length", u(128)),
        ("dream.attention.head_count", u(4)),
        ("dream.attention.head_count_kv", u(2)),
        ("dream.rope.freq_base", Value::F32(1e6)),
        ("dream.attention.layer_norm_rms_epsilon", Value::F32(1e-6)),
        ("dream.attention.causal", Value::Bool(false)),
        ("tokenizer.ggml.model", Value::String("gpt2".into())),
        ("tokenizer.ggml.pre", Value::String("qwen2".into())),
        ("tokenizer.ggml.tokens", Value::Array(tokens.into_iter().map(Value::String).collect())),
        ("tokenizer.ggml.token_type", Value::Array(types.into_iter().map(Value::I32).collect())),
        ("tokenizer.ggml.merges", Value::Array(merges)),
        ("tokenizer.ggml.mask_token_id", u(151_666)),
        ("tokenizer.ggml.bos_token_id", u(151_665)),
        ("tokenizer.ggml.eos_token_id", u(151_643)),
        ("tokenizer.ggml.padding_token_id", u(151_643)),
    ];
    let path = tmp.path().join("dream-llamacpp.gguf");
    let mut file = std::fs::File::create(&path).unwrap();
    let meta: Vec<(&str, &Value)> = metadata.iter().map(|(k, v)| (*k, v)).collect();
    let ts: Vec<(&str, &QTensor)> = tensors.iter().map(|(k, v)| (k.as_str(), v)).collect();
    gguf_file::write(&mut file, &meta, &ts).unwrap();
    drop(file);

    let dream = load(&path).unwrap();
    assert_eq!(dream.config.vocab_size, 152_064);
    for text in [
        "Hello world",
        "The café served crème brûlée 🌙 — 中文测试.\n\tfn main() {}",
        "A<|mask|><|mask|> end<|endoftext|>",
    ] {
        assert_eq!(dream.tokenizer.encode(text).unwrap(), reference.encode(text).unwrap(), "{text:?}");
        assert_eq!(dream.tokenizer.encode_markup(text).unwrap(), reference.encode_markup(text).unwrap(), "{text:?}");
    }
    assert_eq!(dream.tokenizer.mask_id(), 151_666);
    let req: dream_engine::InfillRequest =
        serde_json::from_str(r#"{"text": "Once upon a time", "continuation": 4, "settings": {"steps": 2}}"#).unwrap();
    let out = dream.infill(&req, &AtomicBool::new(false), &mut |_| {}).unwrap();
    assert!(out.candidates[0].text.starts_with("Once upon a time"));
}

/// A GGUF header written by hand: `(key, type, value bytes)` pairs and `(name, dims)` tensors.
fn handmade(kvs: &[(&str, u32, Vec<u8>)], tensors: &[(&str, &[u64])]) -> Vec<u8> {
    let string = |s: &str| [(s.len() as u64).to_le_bytes().to_vec(), s.as_bytes().to_vec()].concat();
    let mut b = b"GGUF".to_vec();
    b.extend(3u32.to_le_bytes());
    b.extend((tensors.len() as u64).to_le_bytes());
    b.extend((kvs.len() as u64).to_le_bytes());
    for (key, ty, value) in kvs {
        b.extend(string(key));
        b.extend(ty.to_le_bytes());
        b.extend(value);
    }
    for (name, dims) in tensors {
        b.extend(string(name));
        b.extend((dims.len() as u32).to_le_bytes());
        for d in *dims {
            b.extend(d.to_le_bytes());
        }
        b.extend(0u32.to_le_bytes()); // f32
        b.extend(0u64.to_le_bytes());
    }
    b.resize(b.len() + 64, 0);
    b
}

/// Hostile headers are refused with a message, before candle's reader sees them (which
/// divided by zero, indexed an empty dimension, or turned a 5 MB array into gigabytes).
#[test]
fn hostile_gguf_headers_are_refused_not_crashed_on() {
    let tmp = tempfile::tempdir().unwrap();
    let arch = ("general.architecture", 8, [(5u64).to_le_bytes().to_vec(), b"dream".to_vec()].concat());
    let mut big_array = 0u32.to_le_bytes().to_vec(); // u8 elements
    big_array.extend((5_000_000u64).to_le_bytes());
    big_array.resize(big_array.len() + 5_000_000, 7);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "alignment0",
            handmade(&[arch.clone(), ("general.alignment", 4, 0u32.to_le_bytes().to_vec())], &[]),
            "general.alignment",
        ),
        ("zerodim", handmade(std::slice::from_ref(&arch), &[("token_embd.weight", &[0, 64])]), "dimension of size 0"),
        (
            "bigarray",
            handmade(&[arch.clone(), ("tokenizer.ggml.tokens", 9, big_array)], &[]),
            "metadata arrays hold over",
        ),
        (
            "longkey",
            {
                let mut b = handmade(std::slice::from_ref(&arch), &[]);
                b[24..32].copy_from_slice(&u64::MAX.to_le_bytes());
                b
            },
            "a metadata key of",
        ),
        ("manydims", handmade(std::slice::from_ref(&arch), &[("x", &[1, 1, 1, 1, 1, 1])]), "6 dimensions"),
    ];
    for (name, bytes, expected) in cases {
        let path = tmp.path().join(format!("{name}.gguf"));
        std::fs::write(&path, bytes).unwrap();
        let err =
            dream_engine::checkpoint::gguf::GgufFile::open(&path).err().unwrap_or_else(|| panic!("{name}: accepted"));
        assert!(matches!(err, Error::CorruptWeights { .. }), "{name}: {err}");
        assert!(err.to_string().contains(expected), "{name}: {err}");
        assert!(err.to_string().contains(&format!("{name}.gguf")), "{name}: {err}");
        assert!(!err.to_string().contains("safetensors"), "a GGUF error does not talk of safetensors: {err}");
    }
}

/// `dream quantize` writes beside the target and renames: a cancelled run leaves neither a
/// broken file nor a temporary one, and an existing file stays as it was.
#[test]
fn quantizing_is_atomic_and_cancellable() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("copy.gguf");
    std::fs::write(&out, b"the old file").unwrap();
    let cancel = AtomicBool::new(false);
    let mut seen = Vec::new();
    let err = dream_engine::checkpoint::quantize::quantize_with(
        &common::fixture_dir(),
        &out,
        QuantType::Q8_0,
        &cancel,
        &mut |done, all| {
            seen.push((done, all));
            if done == 5 {
                cancel.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        },
    )
    .err()
    .unwrap();
    assert!(matches!(err, Error::Cancelled), "{err}");
    assert_eq!(std::fs::read(&out).unwrap(), b"the old file");
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1, "no temporary file left");
    assert_eq!(seen.last(), Some(&(5, seen[0].1)));

    cancel.store(false, std::sync::atomic::Ordering::Relaxed);
    let report = dream_engine::checkpoint::quantize::quantize_with(
        &common::fixture_dir(),
        &out,
        QuantType::Q8_0,
        &cancel,
        &mut |_, _| {},
    )
    .unwrap();
    assert_eq!(std::fs::metadata(&out).unwrap().len(), report.bytes);
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1);
    load(&out).unwrap();
    // A folder that does not exist is an error naming it, and nothing is created.
    let err = quantize(&common::fixture_dir(), &tmp.path().join("no/such/x.gguf"), QuantType::Q8_0).err().unwrap();
    assert!(err.to_string().contains("no/such"), "{err}");
}
