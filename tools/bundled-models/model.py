"""Llama / Mixtral-style decoder in PyTorch, following Hugging Face's LlamaForCausalLM and
MixtralForCausalLM semantics exactly, so the exported safetensors mean what HF (and Sparsebook's
runtime) take them to mean.

- RMSNorm: x * rsqrt(mean(x^2) + eps) * w, computed in float32.
- RoPE, theta 10000, in HF's `rotate_half` convention (first half / second half of each head's
  dimensions paired); q/k projection weights are stored in HF layout.
- Grouped-query attention: query head h reads KV head h // (n_heads / n_kv_heads) (HF `repeat_kv`).
- SwiGLU FFN: down(silu(gate(x)) * up(x)); no biases anywhere.
- MoE (Mixtral `block_sparse_moe`): router linear (no bias) -> softmax (float32) -> top-k ->
  renormalise the k weights to sum 1 -> sum of the chosen SwiGLU experts (w2(silu(w1 x) * w3 x))
  weighted by them. Only the tokens routed to an expert are computed by it.
- Optional tied embeddings (lm_head = embed_tokens).

`forward` returns logits and, for MoE models, per layer the router probabilities and chosen
experts, which train.py turns into the load-balancing loss and eval statistics.
"""
import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class ModelConfig:
    dim: int = 128
    n_layers: int = 4
    n_heads: int = 4
    n_kv_heads: int = 2
    hidden_dim: int = 384  # dense FFN hidden size, or each expert's hidden size for MoE
    vocab_size: int = 4096
    max_seq_len: int = 256
    norm_eps: float = 1e-5
    rope_theta: float = 10000.0
    tie_embeddings: bool = True
    n_experts: int = 0  # 0 = dense
    top_k: int = 2

    @property
    def head_dim(self):
        return self.dim // self.n_heads

    @property
    def is_moe(self):
        return self.n_experts > 0

    def to_dict(self):
        return asdict(self)


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        xf = x.float()
        xf = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * xf.to(x.dtype)


def rope_cos_sin(seq_len, head_dim, theta, device=None):
    """HF LlamaRotaryEmbedding: inv_freq_i = theta^(-2i/d); cos/sin of [freqs, freqs], shape [S, d]."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64, device=device).float() / head_dim))
    t = torch.arange(seq_len, dtype=torch.float32, device=device)
    freqs = torch.outer(t, inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


class Attention(nn.Module):
    def __init__(self, c: ModelConfig):
        super().__init__()
        self.c = c
        hd = c.head_dim
        self.q_proj = nn.Linear(c.dim, c.n_heads * hd, bias=False)
        self.k_proj = nn.Linear(c.dim, c.n_kv_heads * hd, bias=False)
        self.v_proj = nn.Linear(c.dim, c.n_kv_heads * hd, bias=False)
        self.o_proj = nn.Linear(c.n_heads * hd, c.dim, bias=False)

    def forward(self, x, cos, sin, mask):
        c = self.c
        B, S, _ = x.shape
        hd = c.head_dim
        q = self.q_proj(x).view(B, S, c.n_heads, hd).transpose(1, 2)
        k = self.k_proj(x).view(B, S, c.n_kv_heads, hd).transpose(1, 2)
        v = self.v_proj(x).view(B, S, c.n_kv_heads, hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = c.n_heads // c.n_kv_heads
        if rep > 1:  # HF repeat_kv: kv head j serves query heads j*rep .. j*rep+rep-1
            k = k.repeat_interleave(rep, dim=1)
            v = v.repeat_interleave(rep, dim=1)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(hd) + mask
        att = F.softmax(att.float(), dim=-1).to(q.dtype)
        y = (att @ v).transpose(1, 2).reshape(B, S, c.n_heads * hd)
        return self.o_proj(y)


class MLP(nn.Module):
    def __init__(self, c: ModelConfig):
        super().__init__()
        self.gate_proj = nn.Linear(c.dim, c.hidden_dim, bias=False)
        self.up_proj = nn.Linear(c.dim, c.hidden_dim, bias=False)
        self.down_proj = nn.Linear(c.hidden_dim, c.dim, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class SparseMoE(nn.Module):
    """Mixtral's block_sparse_moe with stacked expert weights w1/w3 [E, H, D] and w2 [E, D, H]."""

    def __init__(self, c: ModelConfig):
        super().__init__()
        self.c = c
        self.gate = nn.Linear(c.dim, c.n_experts, bias=False)
        self.w1 = nn.Parameter(torch.empty(c.n_experts, c.hidden_dim, c.dim))
        self.w2 = nn.Parameter(torch.empty(c.n_experts, c.dim, c.hidden_dim))
        self.w3 = nn.Parameter(torch.empty(c.n_experts, c.hidden_dim, c.dim))

    def forward(self, x):
        B, S, D = x.shape
        xf = x.reshape(B * S, D)
        logits = self.gate(xf)
        probs = F.softmax(logits, dim=-1, dtype=torch.float32)
        top_w, top_i = torch.topk(probs, self.c.top_k, dim=-1)
        top_w = (top_w / top_w.sum(dim=-1, keepdim=True)).to(x.dtype)
        # Group the N*k (token, expert) assignments by expert: one gather, one matmul chain per
        # expert on a contiguous slice, one scatter-add back.
        flat = top_i.reshape(-1)
        order = torch.sort(flat, stable=True).indices
        token = order // self.c.top_k
        xs = xf.index_select(0, token)
        sizes = torch.bincount(flat, minlength=self.c.n_experts).tolist()
        ys, start = [], 0
        for e, n in enumerate(sizes):
            if n == 0:
                continue
            xe = xs[start : start + n]
            ys.append((F.silu(xe @ self.w1[e].t()) * (xe @ self.w3[e].t())) @ self.w2[e].t())
            start += n
        y = torch.cat(ys) * top_w.reshape(-1)[order].unsqueeze(-1)
        out = torch.zeros_like(xf).index_add_(0, token, y)
        router = {"logits": logits.view(B, S, -1), "probs": probs.view(B, S, -1), "experts": top_i.view(B, S, -1)}
        return out.view(B, S, D), router


class Block(nn.Module):
    def __init__(self, c: ModelConfig):
        super().__init__()
        self.input_layernorm = RMSNorm(c.dim, c.norm_eps)
        self.self_attn = Attention(c)
        self.post_attention_layernorm = RMSNorm(c.dim, c.norm_eps)
        if c.is_moe:
            self.block_sparse_moe = SparseMoE(c)
        else:
            self.mlp = MLP(c)

    def forward(self, x, cos, sin, mask):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask)
        h = self.post_attention_layernorm(x)
        if hasattr(self, "block_sparse_moe"):
            y, router = self.block_sparse_moe(h)
        else:
            y, router = self.mlp(h), None
        return x + y, router


class Transformer(nn.Module):
    def __init__(self, c: ModelConfig):
        super().__init__()
        self.c = c
        self.embed_tokens = nn.Embedding(c.vocab_size, c.dim)
        self.layers = nn.ModuleList([Block(c) for _ in range(c.n_layers)])
        self.norm = RMSNorm(c.dim, c.norm_eps)
        self.lm_head = nn.Linear(c.dim, c.vocab_size, bias=False)
        if c.tie_embeddings:
            self.lm_head.weight = self.embed_tokens.weight
        cos, sin = rope_cos_sin(c.max_seq_len, c.head_dim, c.rope_theta)
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)
        self.reset_parameters()

    def reset_parameters(self, std=0.02):
        """Normal(0, 0.02) everywhere; residual output projections (o_proj, down/w2) scaled by
        1/sqrt(2 * n_layers) as in GPT-2 / llama2.c; norms at 1."""
        scaled = std / math.sqrt(2 * self.c.n_layers)
        for name, p in self.named_parameters():
            if p.dim() == 1:
                nn.init.ones_(p)
            elif name.endswith(("o_proj.weight", "down_proj.weight", ".w2")):
                nn.init.normal_(p, 0.0, scaled)
            else:
                nn.init.normal_(p, 0.0, std)

    def forward(self, tokens):
        B, S = tokens.shape
        assert S <= self.c.max_seq_len
        x = self.embed_tokens(tokens)
        cos, sin = self.rope_cos[:S], self.rope_sin[:S]
        mask = torch.full((S, S), float("-inf"), device=tokens.device).triu(1)
        routers = []
        for layer in self.layers:
            x, router = layer(x, cos, sin, mask)
            routers.append(router)
        logits = self.lm_head(self.norm(x))
        return logits, routers


def count_parameters(model):
    """Stored parameters (a tied lm_head counted once)."""
    return sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())


def active_parameters(c: ModelConfig):
    """Parameters used per token (top-k experts only, embeddings and lm_head counted once if tied)."""
    hd = c.head_dim
    attn = c.dim * (c.n_heads * hd) * 2 + c.dim * (c.n_kv_heads * hd) * 2
    ffn = 3 * c.dim * c.hidden_dim * (c.top_k if c.is_moe else 1) + (c.dim * c.n_experts if c.is_moe else 0)
    emb = c.vocab_size * c.dim * (1 if c.tie_embeddings else 2)
    return c.n_layers * (attn + ffn + 2 * c.dim) + c.dim + emb
