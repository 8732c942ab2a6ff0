#!/usr/bin/env python3
"""Train one of Sparsebook's bundled models on the tokenized corpus and write its files.

  /usr/bin/python3 tools/bundled-models/train.py --model sparsebook-dense      [--steps N]
  /usr/bin/python3 tools/bundled-models/train.py --model sparsebook-moe-micro  [--steps N]
  /usr/bin/python3 tools/bundled-models/train.py --model sparsebook-moe-global [--steps N]
  /usr/bin/python3 tools/bundled-models/train.py --model sparsebook-moe-micro --measure 20

Objective: next-token cross-entropy, plus for the MoE models coef * LBL with
LBL = N_E * sum_i f_i * p_i per layer, averaged over layers, where p_i is the mean router
probability of expert i over the tokens of a micro-batch (one sequence, so one domain) and f_i the
fraction of the token->expert (top-k) assignments sent to expert i, computed either
  - "micro-batch":  over the same sequence; the loss is averaged over the micro-batches, or
  - "global-batch": over all sequences of the step (mixed domains), as in "Demons in the Detail"
                    (f_i synchronised across micro-batches, p_i local, averaged over micro-batches).
The forward pass runs the whole step at once; micro-batches only scope the LBL, which is what
gradient accumulation over single sequences would compute.

AdamW (betas 0.9/0.95, weight decay 0.1 on matrices), linear warmup then cosine decay to 10 %,
gradient clipping at 1.0, seeded init and data order (torch/numpy/python seeds), float32,
torch.set_num_threads(1) with OpenBLAS on 2 threads (see below). Writes into
public/models/{model}/: config.json, model.safetensors, tokenizer.bin, reference.safetensors,
train-log.csv, metrics.json (report.py adds README.md and loss-curve.svg).
"""
import argparse
import csv
import math
import os
import random
import shutil
import time

# Matmuls run on OpenBLAS's own 2 threads; torch's intra-op pool stays at 1 thread (--threads):
# on these 2 shared cores, torch's OpenMP threads spin against other processes and made MoE steps
# up to 10x slower (measured), while OpenBLAS's pthreads cope. Must be set before torch loads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import export
import moe_stats
from corpus import DOMAINS
from data import BatchSchedule, eval_windows, load_streams
from model import ModelConfig, Transformer, active_parameters, count_parameters

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))

SEED = 1234
DATA_SEED = 4321
REFERENCE_TOKENS = 64

BASE = dict(dim=128, n_layers=4, n_heads=4, n_kv_heads=2, vocab_size=4096, max_seq_len=256, tie_embeddings=True)
MODELS = {
    "sparsebook-dense": {"config": dict(BASE, hidden_dim=384), "lbl_scope": None},
    "sparsebook-moe-micro": {"config": dict(BASE, hidden_dim=96, n_experts=8, top_k=2), "lbl_scope": "micro-batch"},
    "sparsebook-moe-global": {"config": dict(BASE, hidden_dim=96, n_experts=8, top_k=2), "lbl_scope": "global-batch"},
}
TRAIN = dict(batch=16, steps=1000, lr=2e-3, min_lr_ratio=0.1, warmup=50, weight_decay=0.1, clip=1.0, aux_coef=0.01)
LOG_EVERY = 10
EVAL_TIMES = 5  # validation evaluations over the run (the last at the end)


def lr_at(step, steps, t):
    if step < t["warmup"]:
        return t["lr"] * (step + 1) / t["warmup"]
    progress = (step - t["warmup"]) / max(1, steps - t["warmup"])
    return t["lr"] * (t["min_lr_ratio"] + (1 - t["min_lr_ratio"]) * 0.5 * (1 + math.cos(math.pi * progress)))


def load_balancing_loss(routers, n_experts, scope):
    """Mean over layers of N_E * sum_i f_i p_i, f and p per micro-batch (= one sequence) or f
    over the global batch; see the module docstring."""
    losses = []
    for r in routers:
        probs, experts = r["probs"], r["experts"]  # [B, S, E], [B, S, k]
        B, S, k = experts.shape
        counts = torch.zeros(B, n_experts).scatter_add_(1, experts.reshape(B, S * k), torch.ones(B, S * k))
        p = probs.mean(1)  # [B, E], differentiable
        if scope == "micro-batch":
            f = counts / (S * k)
        elif scope == "global-batch":
            f = (counts.sum(0, keepdim=True) / (B * S * k)).expand(B, -1)
        else:
            raise ValueError(scope)
        losses.append(n_experts * (f * p).sum(1).mean())
    return torch.stack(losses).mean()


@torch.no_grad()
def evaluate(model, valid, batch=16):
    """Per-domain validation loss by the loss contract (mean cross-entropy over all targets)."""
    model.eval()
    c = model.c
    S = c.max_seq_len
    losses = {}
    for d in DOMAINS:
        wins = eval_windows(valid[d], S)
        total, n = 0.0, 0
        full = [w for w in wins if len(w) == S + 1]
        groups = [torch.stack(full[i : i + batch]) for i in range(0, len(full), batch)]
        groups += [w.unsqueeze(0) for w in wins if len(w) != S + 1]
        for g in groups:
            logits, _ = model(g[:, :-1])
            ce = F.cross_entropy(logits.reshape(-1, c.vocab_size), g[:, 1:].reshape(-1), reduction="sum")
            total += float(ce)
            n += g[:, 1:].numel()
        losses[d] = total / n
    model.train()
    return losses


@torch.no_grad()
def routing_counts(model, valid, batch=16):
    """counts[L, D, E] of top-k expert assignments over every token of each domain's validation
    stream, routed once in windows [kS, (k+1)S) with fresh context (as `sparsebook moe-stats`)."""
    model.eval()
    c = model.c
    S = c.max_seq_len
    counts = np.zeros((c.n_layers, len(DOMAINS), c.n_experts), dtype=np.int64)
    for di, d in enumerate(DOMAINS):
        t = torch.from_numpy(valid[d])
        wins = [t[i : i + S] for i in range(0, len(t), S)]
        full = [w for w in wins if len(w) == S]
        groups = [torch.stack(full[i : i + batch]) for i in range(0, len(full), batch)]
        groups += [w.unsqueeze(0) for w in wins if len(w) != S]
        for g in groups:
            _, routers = model(g)
            for l, r in enumerate(routers):
                counts[l, di] += np.bincount(r["experts"].reshape(-1).numpy(), minlength=c.n_experts)
    model.train()
    return counts


def svg_safe_float(x):
    return float(f"{x:.6g}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, choices=sorted(MODELS))
    ap.add_argument("--work", default=os.path.join(HERE, "work"))
    ap.add_argument("--out", default=os.path.join(REPO, "public", "models"))
    ap.add_argument("--steps", type=int, default=TRAIN["steps"])
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    ap.add_argument("--measure", type=int, default=0, help="only time this many steps, write nothing")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    random.seed(SEED)

    spec = MODELS[args.model]
    cfg = ModelConfig(**spec["config"])
    scope = spec["lbl_scope"]
    t = dict(TRAIN, steps=args.steps)
    model = Transformer(cfg)
    n_params = count_parameters(model)
    print(f"{args.model}: {n_params:,} parameters ({active_parameters(cfg):,} active per token), lbl {scope}")

    train = load_streams(args.work, "train")
    valid = load_streams(args.work, "valid")
    schedule = BatchSchedule(train, t["batch"], cfg.max_seq_len, DATA_SEED)

    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": t["weight_decay"]}, {"params": no_decay, "weight_decay": 0.0}],
        lr=t["lr"],
        betas=(0.9, 0.95),
        eps=1e-8,
    )

    steps = args.measure or t["steps"]
    eval_at = set() if args.measure else {round(steps * (i + 1) / EVAL_TIMES) for i in range(EVAL_TIMES)}
    tokens_per_step = t["batch"] * cfg.max_seq_len
    rows, evals = [], []
    acc_loss = acc_lbl = 0.0
    acc_n = 0
    train_time = 0.0
    t_start = time.time()
    t_interval = time.time()
    for step in range(steps):
        lr = lr_at(step, steps, t)
        for g in opt.param_groups:
            g["lr"] = lr
        batch, _ = schedule.next()
        x, y = batch[:, :-1], batch[:, 1:]
        logits, routers = model(x)
        ce = F.cross_entropy(logits.reshape(-1, cfg.vocab_size), y.reshape(-1))
        loss = ce
        lbl = None
        if cfg.is_moe:
            lbl = load_balancing_loss(routers, cfg.n_experts, scope)
            loss = ce + t["aux_coef"] * lbl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), t["clip"]))
        opt.step()
        acc_loss += float(ce)
        acc_lbl += float(lbl) if lbl is not None else 0.0
        acc_n += 1
        done = step + 1
        if done % LOG_EVERY == 0 or done == steps or done in eval_at:
            now = time.time()
            train_time += now - t_interval
            row = {
                "step": done,
                "tokens": done * tokens_per_step,
                "lr": svg_safe_float(lr),
                "train_loss": round(acc_loss / acc_n, 4),
                "lbl": round(acc_lbl / acc_n, 4) if cfg.is_moe else "",
                "grad_norm": round(grad_norm, 3),
                "elapsed_s": round(train_time, 1),
                "tokens_per_s": round(acc_n * tokens_per_step / (now - t_interval)),
            }
            for d in DOMAINS:
                row[f"val_{d}"] = ""
            acc_loss = acc_lbl = 0.0
            acc_n = 0
            if done in eval_at:
                losses = evaluate(model, valid)
                for d in DOMAINS:
                    row[f"val_{d}"] = round(losses[d], 4)
                ev = {"step": done, "losses": losses}
                if cfg.is_moe:
                    ev["specialisation"] = moe_stats.specialisation(routing_counts(model, valid))["mean"]
                evals.append(ev)
            rows.append(row)
            msg = (
                f"step {done:5d} tok {row['tokens']:>9,} lr {lr:.2e} loss {row['train_loss']:.4f}"
                + (f" lbl {row['lbl']:.4f}" if cfg.is_moe else "")
                + f" gn {grad_norm:.2f} {row['elapsed_s']:7.1f}s {row['tokens_per_s']:,} tok/s"
            )
            if done in eval_at:
                msg += " | val " + " ".join(f"{d} {row[f'val_{d}']:.3f}" for d in DOMAINS)
                if cfg.is_moe:
                    msg += f" | spec {evals[-1]['specialisation']:.3f}"
            print(msg, flush=True)
            t_interval = time.time()
    wall = time.time() - t_start
    tok_s = steps * tokens_per_step / train_time
    print(f"{args.model}: {steps} steps in {wall:.0f} s wall ({train_time:.0f} s training), {tok_s:,.0f} tokens/s")
    if args.measure:
        return

    out = os.path.join(args.out, args.model)
    os.makedirs(out, exist_ok=True)
    model.eval()
    losses = evaluate(model, valid)
    counts = routing_counts(model, valid) if cfg.is_moe else None
    state = export.hf_state_dict(model)
    meta = {"format": "pt", "sparsebook_model": args.model, "seed": str(SEED)}
    export.write_safetensors(os.path.join(out, "model.safetensors"), state, meta)
    export.write_json(os.path.join(out, "config.json"), export.hf_config(cfg, scope, t["aux_coef"] if cfg.is_moe else None))
    shutil.copyfile(os.path.join(args.work, "tokenizer", "tokenizer.bin"), os.path.join(out, "tokenizer.bin"))

    ref_tokens = torch.from_numpy(valid["literature"][:REFERENCE_TOKENS].copy()).unsqueeze(0)
    with torch.no_grad():
        ref_logits, _ = model(ref_tokens)
    export.write_safetensors(
        os.path.join(out, "reference.safetensors"),
        {"tokens": ref_tokens[0].numpy().astype(np.int32), "logits": ref_logits[0].float().numpy()},
        {"description": "PyTorch float32 eval-mode logits of model.safetensors on tokens (BOS + the runtime's "
         "tokens of the first document of public/models/corpus/valid-literature.txt, first 64)"},
    )
    with open(os.path.join(out, "train-log.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(rows)

    valid_tokens = {d: int(len(valid[d])) for d in DOMAINS}
    total_targets = sum(sum(len(w) - 1 for w in eval_windows(valid[d], cfg.max_seq_len)) for d in DOMAINS)
    metrics = {
        "model": args.model,
        "config": cfg.to_dict(),
        "lbl_scope": scope,
        "parameters": n_params,
        "active_parameters": active_parameters(cfg),
        "train": dict(t, seed=SEED, data_seed=DATA_SEED, threads=args.threads,
                      openblas_threads=os.environ.get("OPENBLAS_NUM_THREADS"), torch=torch.__version__),
        "steps": steps,
        "tokens": steps * tokens_per_step,
        "wall_s": round(wall, 1),
        "train_s": round(train_time, 1),
        "tokens_per_s": round(tok_s),
        "final_train_loss": rows[-1]["train_loss"],
        "final_train_loss_last100": round(
            float(np.mean([r["train_loss"] for r in rows if r["step"] > steps - 100])), 4
        ),
        "valid_loss": losses,
        "valid_tokens": valid_tokens,
        "valid_loss_all": sum(
            losses[d] * sum(len(w) - 1 for w in eval_windows(valid[d], cfg.max_seq_len)) for d in DOMAINS
        ) / total_targets,
        "evals": evals,
        "reference": {"tokens": REFERENCE_TOKENS, "file": "reference.safetensors"},
        "files": {
            n: os.path.getsize(os.path.join(out, n))
            for n in ("model.safetensors", "tokenizer.bin", "reference.safetensors", "config.json")
        },
    }
    if cfg.is_moe:
        metrics["expert_counts"] = counts.tolist()
        metrics["specialisation"] = moe_stats.specialisation(counts)
        metrics["load_cv"] = moe_stats.load_cv(counts)
    export.write_json(os.path.join(out, "metrics.json"), metrics)
    print(f"{args.model}: valid " + " ".join(f"{d} {losses[d]:.4f}" for d in DOMAINS))
    if cfg.is_moe:
        print(f"{args.model}: specialisation {metrics['specialisation']['mean']:.4f} per layer "
              + " ".join(f"{s:.3f}" for s in metrics["specialisation"]["per_layer"]))


if __name__ == "__main__":
    main()
