#!/usr/bin/env python3
"""Write a Sparsebook routing log from a Hugging Face transformers MoE model (run on a GPU server).

The MoEs people study (OLMoE-1B-7B, Mixtral-8x7B, Qwen3-30B-A3B, ...) do not fit a browser tab.
This script runs one with transformers, records every routing decision over a text and writes the
Parquet routing log that `sparsebook moe-stats --routing-log` and the MoE cells read without the
model (format: analyses/moe/routing-log-parquet.ts; one row per token and MoE layer).

    pip install torch transformers pyarrow
    python hf_routing_log.py --model allenai/OLMoE-1B-7B-0924 --text valid.txt \
        --domain web --out olmoe.parquet [--split-rows 2000000] [--max-tokens 100000] \
        [--window 2048] [--no-logits] [--dtype bfloat16]

Texts follow Sparsebook's loss convention (ARCHITECTURE.md): documents separated by
"<|endoftext|>", each encoded as its document token (the tokenizer's BOS, else config.json's
bos_token_id) + tokens, concatenated and cut into windows of --window tokens starting with fresh
context. Several --text/--domain pairs give one log with domains.

Routing is recomputed from the router logits the model returns (output_router_logits=True) the way
Mixtral, OLMoE, Qwen2/3-MoE, GraniteMoE and Switch-style softmax top-k routers choose: softmax,
top-k, gates renormalised when config.norm_topk_prob is true (Mixtral always). Routers that add
biases or group limits (DeepSeek-V3) need their own selection: see `choose_experts`.

Not run in CI (it needs the model weights and, in practice, a GPU).
"""
import argparse
import json

END_OF_TEXT = "<|endoftext|>"


def documents(text):
    """Split on <|endoftext|>, trim, drop empty documents (Sparsebook's splitDocuments)."""
    return [d.strip() for d in text.split(END_OF_TEXT) if d.strip()]


def document_token(tokenizer, config):
    if tokenizer.bos_token_id is not None:
        return tokenizer.bos_token_id
    if getattr(config, "bos_token_id", None) is not None:
        return config.bos_token_id
    return tokenizer.eos_token_id


def choose_experts(router_logits, top_k, norm_topk_prob):
    """[T, E] logits -> ([T, k] experts best first, [T, k] gates) for a softmax top-k router."""
    import torch

    probs = torch.softmax(router_logits.float(), dim=-1)
    gates, experts = torch.topk(probs, top_k, dim=-1)
    if norm_topk_prob:
        gates = gates / gates.sum(dim=-1, keepdim=True)
    return experts, gates


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--revision", default=None)
    ap.add_argument("--text", action="append", required=True)
    ap.add_argument("--domain", action="append", help="one per --text (default: the file name)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--split-rows", type=int, default=0, help="at most this many rows per file")
    ap.add_argument("--max-tokens", type=int, default=0, help="route only the first N tokens of each text")
    ap.add_argument("--window", type=int, default=0, help="tokens per forward pass (default: max_position_embeddings)")
    ap.add_argument("--no-logits", action="store_true", help="omit router_logits (smaller; no entropy or LBL)")
    ap.add_argument("--dtype", default="bfloat16")
    args = ap.parse_args()

    import pyarrow as pa
    import pyarrow.parquet as pq
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(args.model, revision=args.revision)
    model = AutoModelForCausalLM.from_pretrained(
        args.model, revision=args.revision, torch_dtype=getattr(torch, args.dtype), device_map="auto"
    )
    model.eval()
    cfg = model.config
    n_experts = getattr(cfg, "num_experts", None) or getattr(cfg, "num_local_experts")
    top_k = getattr(cfg, "num_experts_per_tok", None) or getattr(cfg, "top_k")
    norm = bool(getattr(cfg, "norm_topk_prob", cfg.model_type == "mixtral"))
    window = args.window or cfg.max_position_embeddings
    domains = args.domain or [t.rsplit("/", 1)[-1].rsplit(".", 1)[0] for t in args.text]
    if len(domains) != len(args.text):
        raise SystemExit("give one --domain per --text")

    schema = pa.schema(
        [
            ("document", pa.int32()),
            ("position", pa.int32()),
            ("token_id", pa.int32()),
            ("layer", pa.int32()),
            ("experts", pa.list_(pa.int32())),
            ("gates", pa.list_(pa.float32())),
            *([] if args.no_logits else [("router_logits", pa.list_(pa.float32()))]),
            ("domain", pa.string()),
        ],
        metadata={
            "sparsebook.routing_log": json.dumps(
                {"version": 1, "n_experts": n_experts, "top_k": top_k, "n_layers": cfg.num_hidden_layers, "source": args.model}
            )
        },
    )
    part = [0]
    rows_in_file = [0]
    writer = [None]

    def open_writer():
        name = args.out if not args.split_rows else args.out.replace(".parquet", "") + f"-{part[0]:05d}.parquet"
        writer[0] = pq.ParquetWriter(name, schema)
        part[0] += 1
        rows_in_file[0] = 0

    def write(batch):
        n = len(batch["document"])
        if writer[0] is None or (args.split_rows and rows_in_file[0] + n > args.split_rows and rows_in_file[0] > 0):
            if writer[0] is not None:
                writer[0].close()
            open_writer()
        writer[0].write_table(pa.table(batch, schema=schema))
        rows_in_file[0] += n

    document_base = 0
    for path, domain in zip(args.text, domains):
        with open(path, encoding="utf-8") as f:
            docs = documents(f.read())
        bos = document_token(tok, cfg)
        stream, doc_of, pos_of = [], [], []
        for d, text in enumerate(docs):
            ids = [bos] + tok(text, add_special_tokens=False)["input_ids"]
            stream += ids
            doc_of += [document_base + d] * len(ids)
            pos_of += list(range(len(ids)))
        if args.max_tokens:
            stream, doc_of, pos_of = stream[: args.max_tokens], doc_of[: args.max_tokens], pos_of[: args.max_tokens]
        for start in range(0, len(stream), window):
            ids = torch.tensor([stream[start : start + window]], device=model.device)
            with torch.no_grad():
                out = model(ids, output_router_logits=True)
            n = ids.shape[1]
            # One [n, E] tensor per MoE layer, in layer order (dense layers, e.g. DeepSeek's first, have none).
            moe_layers = [i for i in range(cfg.num_hidden_layers)][-len(out.router_logits):]
            batch = {k: [] for k in schema.names}
            per_layer = []
            for layer, logits in zip(moe_layers, out.router_logits):
                logits = logits.reshape(n, -1).float()
                experts, gates = choose_experts(logits, top_k, norm)
                per_layer.append((layer, experts.cpu().tolist(), gates.cpu().tolist(), logits.cpu().tolist()))
            for t in range(n):
                for layer, experts, gates, logits in per_layer:
                    batch["document"].append(doc_of[start + t])
                    batch["position"].append(pos_of[start + t])
                    batch["token_id"].append(stream[start + t])
                    batch["layer"].append(layer)
                    batch["experts"].append(experts[t])
                    batch["gates"].append(gates[t])
                    if not args.no_logits:
                        batch["router_logits"].append(logits[t])
                    batch["domain"].append(domain)
            write(batch)
        document_base += len(docs)
    if writer[0] is not None:
        writer[0].close()


if __name__ == "__main__":
    main()
