#!/usr/bin/env python3
"""Check the written bundled models from their files alone.

For each model folder:
  1. read model.safetensors with export.read_safetensors (offsets contiguous, sizes consistent) and
     config.json; check the tensor names and shapes HF expects;
  2. recompute the reference logits with an independent float64 numpy forward written here from
     HF Llama / Mixtral semantics (shares no code with model.py) and compare with
     reference.safetensors;
  3. load the tensors into model.py's Transformer and recompute the reference logits (float32)
     and the per-domain validation loss, comparing with reference.safetensors and metrics.json;
  4. check the reference tokens are BOS + the runtime's tokens of the first validation document,
     and that tokenizer.bin is the pipeline's tokenizer.

  /usr/bin/python3 tools/bundled-models/verify.py [--models DIR] [--work WORK]
"""
import argparse
import hashlib
import json
import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")

import numpy as np  # noqa: E402
import torch  # noqa: E402

import export  # noqa: E402
from data import load_streams  # noqa: E402
from model import ModelConfig, Transformer  # noqa: E402
from train import MODELS, evaluate, routing_counts  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))


def np_forward(t, cfg, tokens):
    """float64 numpy forward of an HF Llama/Mixtral checkpoint (tensors by HF name)."""
    W = {k: v.astype(np.float64) for k, v in t.items()}
    D = cfg["hidden_size"]
    H, KV = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = D // H
    eps = cfg["rms_norm_eps"]
    S = len(tokens)

    def rms(x, w):
        return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * w

    def silu(x):
        return x / (1 + np.exp(-x))

    inv = 1.0 / cfg["rope_theta"] ** (np.arange(0, hd, 2) / hd)
    ang = np.arange(S)[:, None] * inv[None, :]
    cos = np.cos(np.concatenate([ang, ang], -1))
    sin = np.sin(np.concatenate([ang, ang], -1))

    def rope(x):  # x [heads, S, hd]
        rot = np.concatenate([-x[..., hd // 2 :], x[..., : hd // 2]], -1)
        return x * cos + rot * sin

    x = W["model.embed_tokens.weight"][tokens]
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        h = rms(x, W[p + "input_layernorm.weight"])
        q = (h @ W[p + "self_attn.q_proj.weight"].T).reshape(S, H, hd).transpose(1, 0, 2)
        k = (h @ W[p + "self_attn.k_proj.weight"].T).reshape(S, KV, hd).transpose(1, 0, 2)
        v = (h @ W[p + "self_attn.v_proj.weight"].T).reshape(S, KV, hd).transpose(1, 0, 2)
        q, k = rope(q), rope(k)
        out = np.zeros((H, S, hd))
        for head in range(H):
            kv = head // (H // KV)
            s = q[head] @ k[kv].T / np.sqrt(hd)
            s = np.where(np.tril(np.ones((S, S), bool)), s, -np.inf)
            s = np.exp(s - s.max(-1, keepdims=True))
            out[head] = (s / s.sum(-1, keepdims=True)) @ v[kv]
        x = x + out.transpose(1, 0, 2).reshape(S, D) @ W[p + "self_attn.o_proj.weight"].T
        h = rms(x, W[p + "post_attention_layernorm.weight"])
        if "num_local_experts" in cfg:
            logits = h @ W[p + "block_sparse_moe.gate.weight"].T
            pr = np.exp(logits - logits.max(-1, keepdims=True))
            pr /= pr.sum(-1, keepdims=True)
            y = np.zeros_like(h)
            for i in range(S):
                top = np.argsort(-pr[i], kind="stable")[: cfg["num_experts_per_tok"]]
                wts = pr[i, top] / pr[i, top].sum()
                for e, g in zip(top, wts):
                    q_ = f"{p}block_sparse_moe.experts.{e}."
                    a = silu(W[q_ + "w1.weight"] @ h[i]) * (W[q_ + "w3.weight"] @ h[i])
                    y[i] += g * (W[q_ + "w2.weight"] @ a)
        else:
            y = (silu(h @ W[p + "mlp.gate_proj.weight"].T) * (h @ W[p + "mlp.up_proj.weight"].T)) @ W[
                p + "mlp.down_proj.weight"
            ].T
        x = x + y
    x = rms(x, W["model.norm.weight"])
    head = W["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else W["lm_head.weight"]
    return x @ head.T


def expected_shapes(cfg):
    D, V, L = cfg["hidden_size"], cfg["vocab_size"], cfg["num_hidden_layers"]
    hd = D // cfg["num_attention_heads"]
    H, KV, F = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["intermediate_size"]
    s = {"model.embed_tokens.weight": [V, D], "model.norm.weight": [D]}
    if not cfg["tie_word_embeddings"]:
        s["lm_head.weight"] = [V, D]
    for l in range(L):
        p = f"model.layers.{l}."
        s.update(
            {
                p + "input_layernorm.weight": [D],
                p + "post_attention_layernorm.weight": [D],
                p + "self_attn.q_proj.weight": [H * hd, D],
                p + "self_attn.k_proj.weight": [KV * hd, D],
                p + "self_attn.v_proj.weight": [KV * hd, D],
                p + "self_attn.o_proj.weight": [D, H * hd],
            }
        )
        if "num_local_experts" in cfg:
            s[p + "block_sparse_moe.gate.weight"] = [cfg["num_local_experts"], D]
            for e in range(cfg["num_local_experts"]):
                q = f"{p}block_sparse_moe.experts.{e}."
                s.update({q + "w1.weight": [F, D], q + "w2.weight": [D, F], q + "w3.weight": [F, D]})
        else:
            s.update({p + "mlp.gate_proj.weight": [F, D], p + "mlp.up_proj.weight": [F, D], p + "mlp.down_proj.weight": [D, F]})
    return s


def verify(folder, name, work, valid):
    problems = []
    cfg = json.load(open(os.path.join(folder, "config.json")))
    tensors, meta = export.read_safetensors(os.path.join(folder, "model.safetensors"))
    want = expected_shapes(cfg)
    got = {k: list(v.shape) for k, v in tensors.items()}
    if got != want:
        problems.append(f"tensor names/shapes differ: missing {sorted(set(want) - set(got))[:3]}, extra {sorted(set(got) - set(want))[:3]}")
    ref, _ = export.read_safetensors(os.path.join(folder, "reference.safetensors"))
    tokens, logits = ref["tokens"], ref["logits"]
    if not np.array_equal(tokens, valid["literature"][: len(tokens)]):
        problems.append("reference tokens are not the start of valid-literature's runtime token stream")
    if tokens[0] != 1:
        problems.append("reference tokens do not start with BOS")

    ind = np_forward(tensors, cfg, tokens.astype(np.int64))
    d_np = float(np.abs(ind - logits).max())

    c = ModelConfig(**MODELS[name]["config"])
    model = Transformer(c)
    export.load_hf_state_dict(model, tensors)
    model.eval()
    with torch.no_grad():
        again, _ = model(torch.from_numpy(tokens.astype(np.int64)).unsqueeze(0))
    d_torch = float(np.abs(again[0].numpy() - logits).max())
    metrics = json.load(open(os.path.join(folder, "metrics.json")))
    losses = evaluate(model, valid)
    d_loss = max(abs(losses[d] - metrics["valid_loss"][d]) for d in losses)
    if c.is_moe and routing_counts(model, valid).tolist() != metrics["expert_counts"]:
        problems.append("expert counts on the validation split differ from metrics.json")
    if d_np > 1e-4:
        problems.append(f"numpy float64 forward differs from reference logits by {d_np:.2e}")
    if d_torch > 1e-5:
        problems.append(f"reloaded model differs from reference logits by {d_torch:.2e}")
    if d_loss > 1e-5:
        problems.append(f"validation loss differs from metrics.json by {d_loss:.2e}")
    tok = open(os.path.join(folder, "tokenizer.bin"), "rb").read()
    tok_ref = open(os.path.join(work, "tokenizer", "tokenizer.bin"), "rb").read()
    if tok != tok_ref:
        problems.append("tokenizer.bin differs from the pipeline's tokenizer")
    sizes = {f: os.path.getsize(os.path.join(folder, f)) for f in sorted(os.listdir(folder))}
    print(
        f"verify {name}: {len(tensors)} tensors, {sum(v.size for v in tensors.values()):,} params; "
        f"max |logits - ref|: numpy-f64 {d_np:.2e}, reloaded torch {d_torch:.2e}; "
        f"valid loss vs metrics {d_loss:.1e}; tokenizer sha256 {hashlib.sha256(tok).hexdigest()[:16]}"
    )
    print("  sizes: " + ", ".join(f"{f} {s:,}" for f, s in sizes.items()))
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default=os.path.join(REPO, "public", "models"))
    ap.add_argument("--work", default=os.path.join(HERE, "work"))
    ap.add_argument("--only", nargs="*", default=sorted(MODELS))
    args = ap.parse_args()
    torch.set_num_threads(1)
    valid = load_streams(args.work, "valid")
    failed = False
    for name in args.only:
        problems = verify(os.path.join(args.models, name), name, args.work, valid)
        for p in problems:
            print(f"  PROBLEM: {p}")
        failed |= bool(problems)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
