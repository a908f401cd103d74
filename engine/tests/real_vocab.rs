//! Every path at the real vocabulary size (151,936 tokens, the real Qwen2.5 BPE): load,
//! quantize, reload, and the faults a real file can bring (non-finite weights).
mod common;

use std::path::Path;
use std::sync::atomic::AtomicBool;

use candle_core::{DType, Device};
use dream_engine::checkpoint::quantize::{quantize, QuantType};
use dream_engine::{Dream, DreamModel, Error, InfillRequest, Precision, Weights};

fn load(path: &Path) -> dream_engine::Result<Dream> {
    Dream::load(path, &Device::Cpu, Some(Precision::F32))
}

fn request(text: &str) -> InfillRequest {
    serde_json::from_value(serde_json::json!({
        "text": text, "spans": [{"start": 4, "end": 9, "tokens": 4}], "settings": {"steps": 4}
    }))
    .unwrap()
}

/// Item 1 of the real-size issue: the copy `dream quantize` makes of a real-vocabulary model
/// used to hold the tokenizer as one 7 MB string, over the loader's 1 MiB string limit, so it
/// could not be loaded. Now the tokenizer travels as llama.cpp's arrays.
#[test]
fn quantized_copies_of_a_real_vocabulary_model_load_with_the_same_tokenizer() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = common::qwen::real_vocab_checkpoint(&tmp.path().join("ckpt"));
    let dense = load(&dir).unwrap();
    let text = "Héllo, wörld! 你好 🌍 fn main() { x <|mask|> }";
    let want = dense.tokenizer.encode_markup(text).unwrap();
    let plain = dense.tokenizer.encode(text).unwrap();
    assert!(!plain.contains(&151_666), "the text's <|mask|> is characters");
    assert!(want.contains(&151_666) && want.len() > 15, "{want:?}");
    // What an F16 copy must compute: the dense model with its weights rounded to f16.
    let halves = candle_core::safetensors::load(dir.join("model.safetensors"), &Device::Cpu).unwrap().into_iter();
    let halves = halves.map(|(n, t)| (n, t.to_dtype(DType::F16).unwrap().to_dtype(DType::F32).unwrap())).collect();
    let rounded = Dream {
        model: DreamModel::load(&Weights::from_tensors(halves, DType::F32, &Device::Cpu), &dense.config).unwrap(),
        ..dense
    };
    let rounded_out = rounded.infill(&request(text), &AtomicBool::new(false), &mut |_| {}).unwrap();

    for qtype in [QuantType::Q8_0, QuantType::Q4K, QuantType::F16] {
        let out = tmp.path().join(format!("copy-{qtype:?}.gguf"));
        quantize(&dir, &out, qtype).unwrap();
        let copy = load(&out).unwrap_or_else(|e| panic!("{qtype:?}: {e}"));
        assert_eq!(copy.config.vocab_size, 151_936);
        assert_eq!(copy.tokenizer.encode_markup(text).unwrap(), want, "{qtype:?}");
        assert_eq!(copy.tokenizer.encode(text).unwrap(), plain, "{qtype:?}");
        assert_eq!(copy.tokenizer.decode(&want).unwrap(), text, "{qtype:?}");
        // The copy writes; the F16 one writes exactly what the dense model rounded to f16 does.
        let done = copy.infill(&request(text), &AtomicBool::new(false), &mut |_| {}).unwrap();
        assert_eq!(done.candidates[0].spans[0].slots.len(), 4);
        if qtype == QuantType::F16 {
            assert_eq!(done.ids, rounded_out.ids, "F16 copy");
        }
    }
}

/// Item 3: a NaN or an infinity in a tensor used to load and write text (`"w0 w0"`, exit 0).
/// Now loading refuses, naming the tensor and the file, for safetensors in each stored dtype
/// and for GGUF (float tensors, and a quantized block's scale).
#[test]
fn non_finite_weights_are_refused_naming_the_tensor() {
    use safetensors::tensor::TensorView;
    let tmp = tempfile::tempdir().unwrap();
    let dir = common::qwen::real_vocab_checkpoint(&tmp.path().join("ckpt"));
    let weights = dir.join("model.safetensors");
    let bytes = std::fs::read(&weights).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let victim = "model.layers.1.mlp.down_proj.weight";
    for (dtype, bad) in [
        (safetensors::Dtype::F32, f32::NAN.to_le_bytes().to_vec()),
        (safetensors::Dtype::F32, f32::INFINITY.to_le_bytes().to_vec()),
        (safetensors::Dtype::BF16, half::bf16::NAN.to_le_bytes().to_vec()),
        (safetensors::Dtype::F16, half::f16::NEG_INFINITY.to_le_bytes().to_vec()),
    ] {
        // Every tensor in `dtype`, one value of the victim replaced.
        let mut data: Vec<(String, Vec<u8>, Vec<usize>)> = Vec::new();
        for (name, view) in st.tensors() {
            let values: Vec<f32> =
                view.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
            let mut raw: Vec<u8> = match dtype {
                safetensors::Dtype::F32 => bytemuck::cast_slice(&values).to_vec(),
                safetensors::Dtype::BF16 => {
                    values.iter().flat_map(|v| half::bf16::from_f32(*v).to_le_bytes()).collect()
                }
                _ => values.iter().flat_map(|v| half::f16::from_f32(*v).to_le_bytes()).collect(),
            };
            if name == victim {
                let at = 1234 * bad.len();
                raw[at..at + bad.len()].copy_from_slice(&bad);
            }
            data.push((name, raw, view.shape().to_vec()));
        }
        let views: Vec<(String, TensorView)> = data
            .iter()
            .map(|(n, raw, shape)| (n.clone(), TensorView::new(dtype, shape.clone(), raw).unwrap()))
            .collect();
        let out = tmp.path().join("bad");
        std::fs::create_dir_all(&out).unwrap();
        for f in ["config.json", "vocab.json", "merges.txt", "tokenizer_config.json"] {
            std::fs::copy(dir.join(f), out.join(f)).unwrap();
        }
        safetensors::serialize_to_file(views, None, &out.join("model.safetensors")).unwrap();
        let err = load(&out).err().expect("a NaN or infinite weight must not load");
        assert!(matches!(err, Error::NonFiniteWeights { ref name, .. } if name == victim), "{dtype:?}: {err}");
        let message = err.to_string();
        assert!(message.contains("model.safetensors") && message.contains(victim), "{message}");
        // The quantized copy of a damaged checkpoint is refused as well (quantizing reads it).
        let copy = tmp.path().join("bad.gguf");
        let err = quantize(&out, &copy, QuantType::Q8_0).expect_err("quantize reads the weights checked");
        assert!(matches!(err, Error::NonFiniteWeights { .. }), "{err}");
        assert!(!copy.exists());
    }
}

/// Item 3 for GGUF files: a float tensor with a NaN, and a Q8_0 block whose scale is infinite.
#[test]
fn non_finite_gguf_tensors_are_refused_naming_the_tensor() {
    use candle_core::quantized::gguf_file::Content;
    let tmp = tempfile::tempdir().unwrap();
    let dir = common::qwen::real_vocab_checkpoint(&tmp.path().join("ckpt"));
    let file = tmp.path().join("q8.gguf");
    quantize(&dir, &file, QuantType::Q8_0).unwrap();
    let content = Content::read(&mut std::fs::File::open(&file).unwrap()).unwrap();
    let at = |name: &str| (content.tensor_data_offset + content.tensor_infos[name].offset) as usize;
    let clean = std::fs::read(&file).unwrap();
    for (name, value) in [
        // A norm (f32) gets a NaN in its third value.
        ("blk.0.attn_norm.weight", (8, f32::NAN.to_le_bytes().to_vec())),
        // The scale of the second Q8_0 block (34 bytes: f16 scale, 32 values) of a matrix.
        ("blk.1.ffn_up.weight", (34, half::f16::INFINITY.to_le_bytes().to_vec())),
    ] {
        let mut bytes = clean.clone();
        let start = at(name) + value.0;
        bytes[start..start + value.1.len()].copy_from_slice(&value.1);
        let damaged = tmp.path().join("damaged.gguf");
        std::fs::write(&damaged, &bytes).unwrap();
        let err = load(&damaged).err().expect("must not load");
        assert!(matches!(err, Error::NonFiniteWeights { name: ref n, .. } if n == name), "{name}: {err}");
        assert!(err.to_string().contains("damaged.gguf"), "{err}");
    }
}

/// Item 3, at run time: weights that are finite but so large that the logits overflow
/// (`lm_head` scaled by 2e37: each weight is finite, their dot products are not) make
/// infinite logits, so NaN probabilities. The run stops with a clear error at that
/// step and writes nothing, where it used to write text chosen from NaN.
#[test]
fn a_step_whose_output_turns_non_finite_stops_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = common::qwen::real_vocab_checkpoint(&tmp.path().join("ckpt"));
    let path = dir.join("model.safetensors");
    let mut tensors = candle_core::safetensors::load(&path, &Device::Cpu).unwrap();
    let head = tensors["lm_head.weight"].affine(2e37, 0.0).unwrap();
    tensors.insert("lm_head.weight".into(), head);
    candle_core::safetensors::save(&tensors, &path).unwrap();
    let dream = load(&dir).expect("finite weights load");
    let mut steps = 0;
    let err = dream.infill(&request("Once upon a time"), &AtomicBool::new(false), &mut |_| steps += 1).unwrap_err();
    assert!(matches!(err, Error::NonFiniteOutput { step: 0 }), "{err}");
    assert_eq!(steps, 0, "no step was reported as written");
    assert!(err.to_string().contains("nothing was written"), "{err}");
}

/// A GGUF copy stores the tokenizer as Qwen2's BPE (what Dream uses and llama.cpp reads). A
/// checkpoint whose BPE splits text otherwise is refused by `quantize`, not copied into a
/// tokenizer that would give other ids.
#[test]
fn a_bpe_that_is_not_qwen2s_is_refused_rather_than_copied_wrong() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = common::qwen::real_vocab_checkpoint(&tmp.path().join("ckpt"));
    let (json_dir, _) = common::qwen::dream_layouts(&tmp.path().join("layouts"));
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(json_dir.join("tokenizer.json")).unwrap()).unwrap();
    json["pre_tokenizer"] = serde_json::json!({"type": "Whitespace"});
    std::fs::write(dir.join("tokenizer.json"), json.to_string()).unwrap();
    let out = tmp.path().join("copy.gguf");
    let err = quantize(&dir, &out, QuantType::Q8_0).unwrap_err();
    assert!(matches!(err, Error::Tokenizer { .. }) && err.to_string().contains("not Qwen2's"), "{err}");
    assert!(!out.exists());
}

/// An Instruct model's quantized copy follows instructions too: `dream quantize` writes the
/// chat template into the GGUF (`tokenizer.chat_template`, the key llama.cpp's converter
/// writes), and the copy builds the same prompt as the folder.
#[test]
fn a_quantized_copy_keeps_the_chat_template() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = common::qwen::real_vocab_checkpoint(&tmp.path().join("ckpt"));
    let config_path = dir.join("tokenizer_config.json");
    let mut config: serde_json::Value = serde_json::from_slice(&std::fs::read(&config_path).unwrap()).unwrap();
    config["chat_template"] = common::qwen::CHATML.into();
    std::fs::write(&config_path, config.to_string()).unwrap();
    let out = tmp.path().join("copy.gguf");
    quantize(&dir, &out, QuantType::F16).unwrap();
    let (folder, copy) = (load(&dir).unwrap(), load(&out).unwrap());
    let source = |d: &Dream| d.tokenizer.chat_template().unwrap().map(|t| t.source().to_owned());
    assert_eq!(source(&copy).as_deref(), Some(common::qwen::CHATML));
    let mut req = request("The sea was calm that night.");
    req.spans[0].instruction = Some("darker".into());
    let prompt = |d: &Dream| d.prepare(&req).unwrap().prompt;
    assert!(!prompt(&folder).is_empty());
    assert_eq!(prompt(&copy), prompt(&folder));
}
