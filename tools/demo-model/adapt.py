"""Adapts a converted autoregressive checkpoint (convert_smollm2.py) to Dream's objective on a CPU,
resumably: bidirectional attention, Dream's right-shifted logits, the 1/t-weighted
masked-diffusion loss, with the attention mask annealed from causal to full over the first part
of the run (DiffuLLaMA's recipe), so the pretrained layers are not thrown into full attention at
once.

Usage: python adapt.py INIT_DIR CORPUS.jsonl OUT_DIR [--minutes M] ...

The corpus (make_corpus.py) is split once, by a fixed seed, into training rows and 4% held out.
Each row is written either as the answer alone (prose, two thirds) or as the whole ChatML
exchange (instruction and answer), rows separated by `<|endoftext|>`, and packed into a stream
from which windows of `--seq` tokens are drawn.

The loss is LLaDA's form (Dream trains the same objective, with CART reweighting on top, not
used here): a time t ~ U(eps, 1) per row, stratified over the batch, each token masked with
probability t, cross-entropy on the masked tokens weighted by 1/t. The held-out loss is the same
loss at eight fixed times on fixed windows, so runs compare.

Every `--save-every` minutes OUT_DIR/state.pt (weights, optimizer, step, time) is written, and
a run started again with the same OUT_DIR resumes from it; the time budget counts the time of
all runs. Only low-rank updates (LoRA, rank `--rank`) of the projections, the norms and the mask
token's embedding are trained; the pretrained weights stay as the base file has them. At the end
OUT_DIR holds `delta.safetensors` (what training changed: small enough to commit) and the merged
checkpoint folder (f32 safetensors, like INIT_DIR) for measuring.
"""

import argparse
import json
import math
import os
import random
import shutil
import time

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from tokenizers import Tokenizer

import model as dream_model

LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


class LoRA(torch.nn.Module):
    """A frozen linear layer plus a trainable low-rank update: W x + (alpha / r) B A x."""

    def __init__(self, base, rank, alpha):
        super().__init__()
        self.base, self.scale = base, alpha / rank
        self.a = torch.nn.Parameter(torch.randn(rank, base.in_features) / math.sqrt(base.in_features))
        self.b = torch.nn.Parameter(torch.zeros(base.out_features, rank))

    def forward(self, x):
        return self.base(x) + (x @ self.a.t() @ self.b.t()) * self.scale

    def merged(self):
        return self.base.weight + self.scale * (self.b @ self.a)


class MaskEmbedding(torch.nn.Module):
    """The frozen (tied) embedding with the mask token's row trainable on its own, so that
    training computes no gradient for the other 49,152 rows, in the input or in the head."""

    def __init__(self, emb, mask_id):
        super().__init__()
        self.emb, self.mask_id = emb, mask_id
        self.row = torch.nn.Parameter(emb.weight[mask_id].detach().clone())

    def forward(self, ids):
        x = self.emb(ids)
        return torch.where((ids == self.mask_id)[..., None], self.row, x)

    def head(self, h):
        logits = h @ self.emb.weight.t()
        return torch.cat([logits[:, :self.mask_id], (h @ self.row)[:, None], logits[:, self.mask_id + 1:]], dim=1)


def add_lora(m, rank, alpha, mask_id):
    """Freezes the pretrained weights and adds LoRA to every projection; the norms and the new
    mask token's embedding row stay trainable (they are small and the adaptation needs them)."""
    for p in m.parameters():
        p.requires_grad_(False)
    for layer in m.model.layers:
        for parent in [layer.self_attn, layer.mlp]:
            for name in LORA_TARGETS:
                if hasattr(parent, name):
                    setattr(parent, name, LoRA(getattr(parent, name), rank, alpha))
        layer.input_layernorm.weight.requires_grad_(True)
        layer.post_attention_layernorm.weight.requires_grad_(True)
    m.model.norm.weight.requires_grad_(True)
    assert m.c.get("tie_word_embeddings") and mask_id == m.c["vocab_size"] - 1
    m.model.embed_tokens = MaskEmbedding(m.model.embed_tokens, mask_id)
    m.head = m.model.embed_tokens.head


def delta_and_merged(m, mask_id):
    """(the delta: LoRA factors with their scale folded into B in bf16, the norms and the mask
    row in f32; the merged f32 state dict under the official tensor names)."""
    delta, merged = {}, {}
    for name, mod in m.named_modules():
        if isinstance(mod, LoRA):
            delta[f"{name}.lora_a"] = mod.a.detach().to(torch.bfloat16)
            delta[f"{name}.lora_b"] = (mod.b.detach() * mod.scale).to(torch.bfloat16)
            merged[f"{name}.weight"] = mod.merged().detach()
            if mod.base.bias is not None:
                merged[f"{name}.bias"] = mod.base.bias.detach()
        elif isinstance(mod, dream_model.RMSNorm):
            merged[f"{name}.weight"] = mod.weight.detach()
            delta[f"{name}.weight"] = mod.weight.detach().float()
    emb = m.model.embed_tokens
    merged["model.embed_tokens.weight"] = torch.cat([emb.emb.weight[:mask_id], emb.row.detach()[None]])
    delta["model.embed_tokens.mask_row"] = emb.row.detach().float()
    return ({k: v.contiguous() for k, v in delta.items()}, {k: v.contiguous() for k, v in merged.items()})


def rows(corpus, tok, seed):
    data = [json.loads(l) for l in open(corpus)]
    random.Random(0).shuffle(data)
    held = max(1, len(data) // 25)
    rng = random.Random(seed)

    def render(d, chat):
        if chat:
            return (f"<|im_start|>user\n{d['instruction']}<|im_end|>\n<|im_start|>assistant\n"
                    f"{d['answer']}<|im_end|>\n")
        return d["answer"]

    eos = tok.token_to_id("<|endoftext|>")
    stream = lambda part: torch.tensor(
        [i for d in part for i in tok.encode(render(d, rng.random() < 1 / 3)).ids + [eos]], dtype=torch.long)
    return stream(data[held:]), stream(data[:held])


def visible_mask(l, p):
    """Causal attention plus each future position with probability `p` (True = may attend)."""
    causal = torch.ones(l, l, dtype=torch.bool).tril()
    return causal | (torch.rand(l, l) < p)


def diffusion_loss(m, x0, mask_id, t=None, eps=1e-3, visible=None):
    b, l = x0.shape
    if t is None:
        t = (1 - eps) * ((torch.rand(1) + torch.arange(b) / b) % 1) + eps
    masked = torch.rand(b, l) < t[:, None]
    masked[:, 0] = False  # Dream never predicts the first token (nothing shifts into it)
    h = m(torch.where(masked, torch.full_like(x0, mask_id), x0), visible=visible)
    h = torch.cat([h[:, :1], h[:, :-1]], dim=1)  # position i-1 predicts i
    ce = F.cross_entropy(m.head(h[masked]), x0[masked], reduction="none")
    return (ce / t[:, None].expand(b, l)[masked]).sum() / (b * l)


def held_out_loss(m, ids, mask_id, seq):
    g = torch.Generator().manual_seed(1)
    starts = torch.randint(0, len(ids) - seq, (16,), generator=g)
    x0 = torch.stack([ids[s:s + seq] for s in starts])
    state = torch.get_rng_state()
    torch.manual_seed(2)
    with torch.no_grad():
        losses = [diffusion_loss(m, x0, mask_id, t=torch.full((16,), t)).item() for t in
                  [0.0625 + 0.125 * k for k in range(8)]]
    torch.set_rng_state(state)
    return sum(losses) / len(losses)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("init")
    ap.add_argument("corpus")
    ap.add_argument("out")
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--rank", type=int, default=32)
    ap.add_argument("--anneal", type=float, default=0.3, help="share of the run spent annealing to full attention")
    ap.add_argument("--save-every", type=float, default=5.0, help="minutes between resumable states")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    cfg = json.load(open(os.path.join(args.init, "config.json")))
    tok = Tokenizer.from_file(os.path.join(args.init, "tokenizer.json"))
    mask_id = cfg["mask_token_id"]
    train, held = rows(args.corpus, tok, args.seed)
    print(f"{len(train) / 1e6:.2f} M training tokens, {len(held) / 1e3:.0f} K held out", flush=True)

    m = dream_model.load(args.init)
    add_lora(m, args.rank, 2 * args.rank, mask_id)
    trained = [p for p in m.parameters() if p.requires_grad]
    print(f"{sum(p.numel() for p in trained) / 1e6:.2f} M trained parameters", flush=True)
    opt = torch.optim.AdamW(trained, lr=args.lr, betas=(0.9, 0.98), weight_decay=0.0)
    state_path, step, spent, log = os.path.join(args.out, "state.pt"), 0, 0.0, []
    if os.path.exists(state_path):
        s = torch.load(state_path)
        m.load_state_dict(s["model"])
        opt.load_state_dict(s["opt"])
        step, spent, log = s["step"], s["spent"], s["log"]
        torch.set_rng_state(s["rng"])
        print(f"resumed at step {step}, {spent / 60:.1f} min", flush=True)
    else:
        torch.manual_seed(args.seed)
        log.append(dict(step=0, minutes=0.0, held_out=held_out_loss(m, held, mask_id, args.seq)))
        print(f"held-out loss before: {log[-1]['held_out']:.3f}", flush=True)

    budget, start, last_save, smooth = args.minutes * 60, time.time() - spent, time.time(), None
    while (elapsed := time.time() - start) < budget:
        frac = elapsed / budget
        lr = args.lr * min(1.0, frac / 0.03) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))
        for g in opt.param_groups:
            g["lr"] = lr
        p = frac / args.anneal
        visible = visible_mask(args.seq, p) if p < 1 else None
        starts = torch.randint(0, len(train) - args.seq, (args.batch,))
        x0 = torch.stack([train[s:s + args.seq] for s in starts])
        loss = diffusion_loss(m, x0, mask_id, visible=visible)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trained, 1.0)
        opt.step()
        smooth = loss.item() if smooth is None else 0.98 * smooth + 0.02 * loss.item()
        step += 1
        if step % 25 == 0:
            print(f"step {step}  {elapsed / 60:.1f} min  loss {smooth:.3f}  lr {lr:.2e}  "
                  f"attention {'full' if p >= 1 else f'{p:.0%} of the future'}", flush=True)
        if time.time() - last_save > args.save_every * 60:
            log.append(dict(step=step, minutes=elapsed / 60, held_out=held_out_loss(m, held, mask_id, args.seq),
                            train=smooth))
            print(f"held-out loss {log[-1]['held_out']:.3f}", flush=True)
            torch.save(dict(model=m.state_dict(), opt=opt.state_dict(), step=step, spent=time.time() - start, log=log,
                            rng=torch.get_rng_state()), state_path + ".tmp")
            os.replace(state_path + ".tmp", state_path)
            last_save = time.time()

    log.append(dict(step=step, minutes=(time.time() - start) / 60, held_out=held_out_loss(m, held, mask_id, args.seq),
                    train=smooth))
    print(f"held-out loss after: {log[-1]['held_out']:.3f}", flush=True)
    delta, merged = delta_and_merged(m, mask_id)
    save_file(delta, os.path.join(args.out, "delta.safetensors"), metadata={"format": "pt"})
    save_file(merged, os.path.join(args.out, "model.safetensors"), metadata={"format": "pt"})
    for f in ["config.json", "tokenizer.json", "tokenizer_config.json", "generation_config.json", "source.json"]:
        shutil.copy(os.path.join(args.init, f), os.path.join(args.out, f))
    with open(os.path.join(args.out, "training.json"), "w") as f:
        json.dump(dict(vars(args), steps=step, log=log), f, indent=2)
    print(f"saved {args.out} after {step} steps", flush=True)


if __name__ == "__main__":
    main()
