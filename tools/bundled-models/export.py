"""Writing (and reading back) the bundled models' files: safetensors, HF config.json, and the
mapping between model.py's parameters and HF tensor names.

safetensors layout: 8-byte little-endian header length N, N bytes of JSON header (padded with
spaces to a multiple of 8) mapping each tensor name to {"dtype", "shape", "data_offsets": [begin,
end]} relative to the data section (plus optional "__metadata__": {str: str}), then the raw
little-endian data of each tensor, contiguous, in name order.
"""
import json
import struct

import numpy as np
import torch

DTYPES = {"F32": np.dtype("<f4"), "I32": np.dtype("<i4"), "I64": np.dtype("<i8"), "U16": np.dtype("<u2")}
NP_TO_DTYPE = {np.dtype("float32"): "F32", np.dtype("int32"): "I32", np.dtype("int64"): "I64", np.dtype("uint16"): "U16"}


def write_safetensors(path, tensors, metadata=None):
    """tensors: {name: np.ndarray | torch.Tensor}; written sorted by name, contiguous."""
    arrays = {}
    for name, t in tensors.items():
        a = t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
        dt = NP_TO_DTYPE[a.dtype]
        arrays[name] = np.ascontiguousarray(a, dtype=DTYPES[dt])
    header, offset = {}, 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name in sorted(arrays):
        a = arrays[name]
        header[name] = {
            "dtype": NP_TO_DTYPE[a.dtype.newbyteorder("=")],
            "shape": list(a.shape),
            "data_offsets": [offset, offset + a.nbytes],
        }
        offset += a.nbytes
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for name in sorted(arrays):
            f.write(arrays[name].tobytes())


def read_safetensors(path):
    """Returns ({name: np.ndarray}, metadata); validates offsets are contiguous and in bounds."""
    raw = open(path, "rb").read()
    (n,) = struct.unpack_from("<Q", raw, 0)
    header = json.loads(raw[8 : 8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    data = memoryview(raw)[8 + n :]
    out, end = {}, 0
    for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        b, e = info["data_offsets"]
        dt = DTYPES[info["dtype"]]
        assert b == end, f"{path}: {name} starts at {b}, expected {end}"
        assert e - b == int(np.prod(info["shape"], dtype=np.int64)) * dt.itemsize, f"{path}: {name} size"
        out[name] = np.frombuffer(data[b:e], dtype=dt).reshape(info["shape"]).copy()
        end = e
    assert end == len(data), f"{path}: {len(data) - end} trailing bytes"
    return out, meta


def hf_state_dict(model):
    """model.py parameters under HF Llama / Mixtral tensor names (experts split per expert)."""
    c = model.c
    out = {"model.embed_tokens.weight": model.embed_tokens.weight, "model.norm.weight": model.norm.weight}
    if not c.tie_embeddings:
        out["lm_head.weight"] = model.lm_head.weight
    for l, layer in enumerate(model.layers):
        p = f"model.layers.{l}."
        out[p + "input_layernorm.weight"] = layer.input_layernorm.weight
        out[p + "post_attention_layernorm.weight"] = layer.post_attention_layernorm.weight
        for proj in ("q_proj", "k_proj", "v_proj", "o_proj"):
            out[p + f"self_attn.{proj}.weight"] = getattr(layer.self_attn, proj).weight
        if c.is_moe:
            moe = layer.block_sparse_moe
            out[p + "block_sparse_moe.gate.weight"] = moe.gate.weight
            for e in range(c.n_experts):
                for w in ("w1", "w2", "w3"):
                    out[p + f"block_sparse_moe.experts.{e}.{w}.weight"] = getattr(moe, w)[e]
        else:
            for proj in ("gate_proj", "up_proj", "down_proj"):
                out[p + f"mlp.{proj}.weight"] = getattr(layer.mlp, proj).weight
    return {k: v.detach().float().contiguous() for k, v in out.items()}


def load_hf_state_dict(model, tensors):
    """Inverse of hf_state_dict: copy HF-named arrays into model.py's parameters (strict)."""
    c = model.c
    used = set()

    def take(name):
        used.add(name)
        return torch.from_numpy(tensors[name])

    with torch.no_grad():
        model.embed_tokens.weight.copy_(take("model.embed_tokens.weight"))
        model.norm.weight.copy_(take("model.norm.weight"))
        if not c.tie_embeddings:
            model.lm_head.weight.copy_(take("lm_head.weight"))
        for l, layer in enumerate(model.layers):
            p = f"model.layers.{l}."
            layer.input_layernorm.weight.copy_(take(p + "input_layernorm.weight"))
            layer.post_attention_layernorm.weight.copy_(take(p + "post_attention_layernorm.weight"))
            for proj in ("q_proj", "k_proj", "v_proj", "o_proj"):
                getattr(layer.self_attn, proj).weight.copy_(take(p + f"self_attn.{proj}.weight"))
            if c.is_moe:
                moe = layer.block_sparse_moe
                moe.gate.weight.copy_(take(p + "block_sparse_moe.gate.weight"))
                for e in range(c.n_experts):
                    for w in ("w1", "w2", "w3"):
                        getattr(moe, w)[e].copy_(take(p + f"block_sparse_moe.experts.{e}.{w}.weight"))
            else:
                for proj in ("gate_proj", "up_proj", "down_proj"):
                    getattr(layer.mlp, proj).weight.copy_(take(p + f"mlp.{proj}.weight"))
    extra = set(tensors) - used
    assert not extra, f"unexpected tensors: {sorted(extra)[:5]}"


def hf_config(c, lbl_scope=None, aux_coef=None):
    """config.json in Hugging Face form (LlamaForCausalLM or MixtralForCausalLM)."""
    cfg = {
        "architectures": ["MixtralForCausalLM" if c.is_moe else "LlamaForCausalLM"],
        "model_type": "mixtral" if c.is_moe else "llama",
        "hidden_size": c.dim,
        "intermediate_size": c.hidden_dim,
        "num_hidden_layers": c.n_layers,
        "num_attention_heads": c.n_heads,
        "num_key_value_heads": c.n_kv_heads,
        "head_dim": c.head_dim,
        "vocab_size": c.vocab_size,
        "max_position_embeddings": c.max_seq_len,
        "rms_norm_eps": c.norm_eps,
        "rope_theta": c.rope_theta,
        "hidden_act": "silu",
        "tie_word_embeddings": c.tie_embeddings,
        "attention_bias": False,
        "bos_token_id": 1,
        "eos_token_id": 2,
        "torch_dtype": "float32",
    }
    if not c.is_moe:
        cfg["mlp_bias"] = False
    if c.is_moe:
        cfg.update(
            {
                "num_local_experts": c.n_experts,
                "num_experts_per_tok": c.top_k,
                "norm_topk_prob": True,
                "router_aux_loss_coef": aux_coef,
                "output_router_logits": False,
                "sparsebook_lbl_scope": lbl_scope,
            }
        )
    return cfg


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")
