#!/usr/bin/env python3
"""Independent reference for Sparsebook's runtime: llama2.c's model, tokenizer and loss in numpy.

Written from llama2.c's run.c semantics, sharing no code with the TypeScript runtime, so agreement
between the two is evidence that both are right. Float64 throughout.

  python3 tools/reference/llama2c_reference.py MODEL.bin TOKENIZER.bin TEXT.txt [--docs N] [--generate 64]

Prints one JSON line: {"loss", "perplexity", "tokens", "documents", "greedy_tokens", "greedy_text"}.
"""
import argparse
import json
import math
import struct

import numpy as np


def load_checkpoint(path):
    raw = open(path, "rb").read()
    magic = struct.unpack_from("<I", raw, 0)[0]
    if magic == 0x616B3432:  # v1 "ak42"
        version = struct.unpack_from("<i", raw, 4)[0]
        assert version == 1, f"unsupported version {version}"
        dim, hidden, n_layers, n_heads, n_kv, vocab, seq = struct.unpack_from("<7i", raw, 8)
        shared = raw[36] == 1
        offset, legacy = 256, False
    else:
        dim, hidden, n_layers, n_heads, n_kv, vocab, seq = struct.unpack_from("<7i", raw, 0)
        shared = vocab > 0
        vocab = abs(vocab)
        offset, legacy = 28, True
    f = np.frombuffer(raw, dtype="<f4", offset=offset).astype(np.float64)
    hd = dim // n_heads
    kv_dim = n_kv * hd
    pos = 0

    def take(*shape):
        nonlocal pos
        n = int(np.prod(shape))
        out = f[pos : pos + n].reshape(shape)
        pos += n
        return out

    w = {}
    if legacy:
        w["emb"] = take(vocab, dim)
        w["rms_att"] = take(n_layers, dim)
        w["wq"] = take(n_layers, dim, dim)
        w["wk"] = take(n_layers, kv_dim, dim)
        w["wv"] = take(n_layers, kv_dim, dim)
        w["wo"] = take(n_layers, dim, dim)
        w["rms_ffn"] = take(n_layers, dim)
        w["w1"] = take(n_layers, hidden, dim)
        w["w2"] = take(n_layers, dim, hidden)
        w["w3"] = take(n_layers, hidden, dim)
        w["rms_final"] = take(dim)
        take(seq * hd // 2)  # freq_cis_real
        take(seq * hd // 2)  # freq_cis_imag
    else:
        w["rms_att"] = take(n_layers, dim)
        w["rms_ffn"] = take(n_layers, dim)
        w["rms_final"] = take(dim)
        w["emb"] = take(vocab, dim)
        w["wq"] = take(n_layers, dim, dim)
        w["wk"] = take(n_layers, kv_dim, dim)
        w["wv"] = take(n_layers, kv_dim, dim)
        w["wo"] = take(n_layers, dim, dim)
        w["w1"] = take(n_layers, hidden, dim)
        w["w2"] = take(n_layers, dim, hidden)
        w["w3"] = take(n_layers, hidden, dim)
    w["cls"] = w["emb"] if shared else take(vocab, dim)
    cfg = dict(dim=dim, hidden=hidden, n_layers=n_layers, n_heads=n_heads, n_kv=n_kv, vocab=vocab, seq=seq)
    return cfg, w


def load_tokenizer(path, vocab_size):
    raw = open(path, "rb").read()
    pos = 4
    vocab, scores = [], []
    for _ in range(vocab_size):
        score, length = struct.unpack_from("<fi", raw, pos)
        pos += 8
        vocab.append(raw[pos : pos + length])
        pos += length
        scores.append(score)
    return vocab, scores


def encode(text, vocab, scores):
    """run.c encode(): dummy prefix space, codepoint lookup with byte fallback (+3), best-score merges."""
    lookup = {piece: i for i, piece in reversed(list(enumerate(vocab)))}
    ids = []
    if text:
        ids.append(lookup[b" "])
    for ch in text:
        b = ch.encode("utf-8")
        if b in lookup:
            ids.append(lookup[b])
        else:
            ids.extend(byte + 3 for byte in b)
    while True:
        best, best_i, best_id = -1e10, -1, -1
        for i in range(len(ids) - 1):
            merged = vocab[ids[i]] + vocab[ids[i + 1]]
            j = lookup.get(merged)
            if j is not None and scores[j] > best:
                best, best_i, best_id = scores[j], i, j
        if best_i == -1:
            break
        ids[best_i : best_i + 2] = [best_id]
    return ids


def decode_bytes(prev, tok, vocab):
    piece = vocab[tok]
    if prev == 1 and piece.startswith(b" "):
        piece = piece[1:]
    if len(piece) == 6 and piece.startswith(b"<0x") and piece.endswith(b">"):
        piece = bytes([int(piece[3:5], 16)])
    return piece


def rmsnorm(x, weight):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + 1e-5) * weight


def rope(x, positions, hd):
    # x [T, n*hd]; adjacent pairs rotate; frequency depends on the index within the head.
    i = np.arange(0, x.shape[1], 2)
    freq = 1.0 / (10000.0 ** ((i % hd) / hd))
    ang = positions[:, None] * freq[None, :]
    c, s = np.cos(ang), np.sin(ang)
    out = x.copy()
    out[:, 0::2] = x[:, 0::2] * c - x[:, 1::2] * s
    out[:, 1::2] = x[:, 0::2] * s + x[:, 1::2] * c
    return out


def forward(cfg, w, tokens):
    """Full-sequence causal forward from position 0; returns logits [T, vocab]."""
    T = len(tokens)
    hd = cfg["dim"] // cfg["n_heads"]
    group = cfg["n_heads"] // cfg["n_kv"]
    x = w["emb"][tokens]
    positions = np.arange(T, dtype=np.float64)
    mask = np.triu(np.full((T, T), -np.inf), k=1)
    for l in range(cfg["n_layers"]):
        h = rmsnorm(x, w["rms_att"][l])
        q = rope(h @ w["wq"][l].T, positions, hd)
        k = rope(h @ w["wk"][l].T, positions, hd)
        v = h @ w["wv"][l].T
        z = np.zeros_like(q)
        for head in range(cfg["n_heads"]):
            kvh = head // group
            qs = q[:, head * hd : (head + 1) * hd]
            ks = k[:, kvh * hd : (kvh + 1) * hd]
            vs = v[:, kvh * hd : (kvh + 1) * hd]
            s = qs @ ks.T / math.sqrt(hd) + mask
            s = np.exp(s - s.max(axis=1, keepdims=True))
            s /= s.sum(axis=1, keepdims=True)
            z[:, head * hd : (head + 1) * hd] = s @ vs
        x = x + z @ w["wo"][l].T
        h = rmsnorm(x, w["rms_ffn"][l])
        a = h @ w["w1"][l].T
        x = x + ((a / (1 + np.exp(-a))) * (h @ w["w3"][l].T)) @ w["w2"][l].T
    return rmsnorm(x, w["rms_final"]) @ w["cls"].T


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("tokenizer")
    ap.add_argument("text")
    ap.add_argument("--docs", type=int, default=0, help="only the first N documents (0 = all)")
    ap.add_argument("--generate", type=int, default=64, help="greedy tokens from BOS")
    args = ap.parse_args()
    cfg, w = load_checkpoint(args.model)
    vocab, scores = load_tokenizer(args.tokenizer, cfg["vocab"])
    docs = [d.strip() for d in open(args.text, encoding="utf-8").read().split("<|endoftext|>")]
    docs = [d for d in docs if d]
    if args.docs:
        docs = docs[: args.docs]
    stream = []
    for d in docs:
        stream += [1] + encode(d, vocab, scores)
    S = cfg["seq"]
    total, count = 0.0, 0
    for start in range(0, len(stream), S):
        window = stream[start : start + S + 1]
        if len(window) < 2:
            break
        logits = forward(cfg, w, np.array(window[:-1]))
        m = logits.max(axis=1, keepdims=True)
        logz = (m + np.log(np.exp(logits - m).sum(axis=1, keepdims=True)))[:, 0]
        targets = np.array(window[1:])
        total += float(np.sum(logz - logits[np.arange(len(targets)), targets]))
        count += len(targets)
    toks = [1]
    for _ in range(args.generate):
        nxt = int(np.argmax(forward(cfg, w, np.array(toks))[-1]))
        if nxt == 1:
            break
        toks.append(nxt)
    text = b"".join(decode_bytes(toks[i - 1], toks[i], vocab) for i in range(1, len(toks))).decode("utf-8", "replace")
    loss = total / count
    print(json.dumps(dict(loss=loss, perplexity=math.exp(loss), tokens=count, documents=len(docs),
                          greedy_tokens=toks[1:], greedy_text=text)))


if __name__ == "__main__":
    main()
