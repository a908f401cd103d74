"""A Dream model in plain torch with the official checkpoint's tensor names (Qwen2 layers, tied or
untied head), for training and measuring the built-in demo. Attention is bidirectional, as in
Dream; `causal=True` runs it as the autoregressive model it was converted from, and `visible`
gives an explicit (query, key) mask for annealing from causal to full attention.
"""

import json
import os

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load_file


class RMSNorm(nn.Module):
    def __init__(self, n, eps):
        super().__init__()
        self.weight, self.eps = nn.Parameter(torch.ones(n)), eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_half(x):
    a, b = x.chunk(2, dim=-1)
    return torch.cat([-b, a], dim=-1)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        h, self.heads, self.kv = c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"]
        self.dim = h // self.heads
        self.q_proj = nn.Linear(h, self.heads * self.dim)
        self.k_proj = nn.Linear(h, self.kv * self.dim)
        self.v_proj = nn.Linear(h, self.kv * self.dim)
        self.o_proj = nn.Linear(self.heads * self.dim, h, bias=False)

    def forward(self, x, cos, sin, causal, visible):
        b, l, _ = x.shape
        q = self.q_proj(x).view(b, l, self.heads, self.dim).transpose(1, 2)
        k = self.k_proj(x).view(b, l, self.kv, self.dim).transpose(1, 2)
        v = self.v_proj(x).view(b, l, self.kv, self.dim).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        rep = self.heads // self.kv
        k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=visible, is_causal=causal and visible is None)
        return self.o_proj(out.transpose(1, 2).reshape(b, l, -1))


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        h, i = c["hidden_size"], c["intermediate_size"]
        self.self_attn = Attention(c)
        self.mlp = nn.Module()
        self.mlp.gate_proj, self.mlp.up_proj = nn.Linear(h, i, bias=False), nn.Linear(h, i, bias=False)
        self.mlp.down_proj = nn.Linear(i, h, bias=False)
        self.input_layernorm = RMSNorm(h, c["rms_norm_eps"])
        self.post_attention_layernorm = RMSNorm(h, c["rms_norm_eps"])

    def forward(self, x, cos, sin, causal, visible):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, causal, visible)
        y = self.post_attention_layernorm(x)
        return x + self.mlp.down_proj(F.silu(self.mlp.gate_proj(y)) * self.mlp.up_proj(y))


class Dream(nn.Module):
    """The tensor names and shapes of the official DreamModel."""

    def __init__(self, c):
        super().__init__()
        self.c = c
        self.model = nn.Module()
        self.model.embed_tokens = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.model.layers = nn.ModuleList(Layer(c) for _ in range(c["num_hidden_layers"]))
        self.model.norm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        if not c.get("tie_word_embeddings"):
            self.lm_head = nn.Linear(c["hidden_size"], c["vocab_size"], bias=False)

    def head(self, h):
        w = self.model.embed_tokens.weight if self.c.get("tie_word_embeddings") else self.lm_head.weight
        return h @ w.t()

    def forward(self, ids, causal=False, visible=None):
        """The final normed hidden states (not yet shifted)."""
        l, dim = ids.shape[1], self.c["hidden_size"] // self.c["num_attention_heads"]
        inv = 1.0 / self.c["rope_theta"] ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim)
        freqs = torch.outer(torch.arange(l, dtype=torch.float32), inv)
        emb = torch.cat([freqs, freqs], dim=-1)
        cos, sin = emb.cos()[None, None], emb.sin()[None, None]
        x = self.model.embed_tokens(ids)
        for layer in self.model.layers:
            x = layer(x, cos, sin, causal, visible)
        return self.model.norm(x)

    def logits(self, ids, causal=False):
        """Logits at every position; position i predicts token i + 1 (Dream shifts them right
        when it samples, so the same row predicts the masked token after it)."""
        return self.head(self(ids, causal=causal))


def load(folder):
    with open(os.path.join(folder, "config.json")) as f:
        c = json.load(f)
    m = Dream(c)
    state = {k: v.float() for k, v in load_file(os.path.join(folder, "model.safetensors")).items()}
    if c.get("tie_word_embeddings"):
        state.pop("lm_head.weight", None)
    m.load_state_dict(state)
    return m
