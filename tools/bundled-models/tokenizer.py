#!/usr/bin/env python3
"""Train the bundled models' tokenizer (sentencepiece BPE, 4096 pieces, byte fallback) on the
training split only, and export it to llama2.c's tokenizer.bin format.

The export follows llama2.c's tokenizer.py `export()` byte for byte: int32 max_token_length, then
for each id: float32 score, int32 byte length, the piece's UTF-8 bytes, with "▁" replaced by " ",
BOS written as "\\n<s>\\n" and EOS as "\\n</s>\\n"; byte pieces stay "<0xNN>". run.c (and the
runtime's Llama2cTokenizer) falls back to id = byte + 3, so the byte pieces must be ids 3..258; that
is checked here.

  /usr/bin/python3 tools/bundled-models/tokenizer.py --work tools/bundled-models/work
"""
import argparse
import hashlib
import os
import struct

import sentencepiece as spm

from corpus import DOMAINS, SEPARATOR

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 1234
VOCAB_SIZE = 4096


def sentences(work):
    """Training-split documents as sentencepiece input lines (the trainer is line-based)."""
    for domain in DOMAINS:
        text = open(os.path.join(work, "corpus", f"train-{domain}.txt"), encoding="utf-8").read()
        for doc in text.split(SEPARATOR):
            for line in doc.strip().split("\n"):
                if line.strip():
                    yield line


def train(work, threads=2):
    out = os.path.join(work, "tokenizer")
    os.makedirs(out, exist_ok=True)
    lines_path = os.path.join(out, "train-lines.txt")
    with open(lines_path, "w", encoding="utf-8", newline="\n") as f:
        for line in sentences(work):
            f.write(line + "\n")
    spm.set_random_generator_seed(SEED)
    spm.SentencePieceTrainer.train(
        input=lines_path,
        input_format="text",
        model_prefix=os.path.join(out, "spm"),
        model_type="bpe",
        vocab_size=VOCAB_SIZE,
        self_test_sample_size=0,
        character_coverage=0.9995,
        num_threads=threads,
        split_digits=True,
        allow_whitespace_only_pieces=True,
        byte_fallback=True,
        unk_surface=r" \342\201\207 ",
        normalization_rule_name="identity",
        remove_extra_whitespaces=False,
        max_sentence_length=16384,
        input_sentence_size=0,
        shuffle_input_sentence=False,
        unk_id=0,
        bos_id=1,
        eos_id=2,
        pad_id=-1,
        minloglevel=1,
    )
    return os.path.join(out, "spm.model")


def export_llama2c(model_path, bin_path):
    """llama2.c tokenizer.py export(), with the byte-piece layout check run.c relies on."""
    sp = spm.SentencePieceProcessor(model_file=model_path)
    n = sp.vocab_size()
    assert (sp.unk_id(), sp.bos_id(), sp.eos_id()) == (0, 1, 2), "unk/bos/eos must be ids 0/1/2"
    for b in range(256):
        piece = sp.id_to_piece(b + 3)
        assert piece == f"<0x{b:02X}>", f"id {b + 3} is {piece!r}, expected byte piece <0x{b:02X}>"
    tokens, scores = [], []
    for i in range(n):
        t = sp.id_to_piece(i)
        s = sp.get_score(i)
        if i == sp.bos_id():
            t = "\n<s>\n"
        elif i == sp.eos_id():
            t = "\n</s>\n"
        t = t.replace("\u2581", " ")
        tokens.append(t.encode("utf-8"))
        scores.append(s)
    assert b" " in tokens, "no ' ' piece: run.c's dummy prefix would fail"
    max_token_length = max(len(t) for t in tokens)
    with open(bin_path, "wb") as f:
        f.write(struct.pack("<i", max_token_length))
        for b, s in zip(tokens, scores):
            f.write(struct.pack("<fi", s, len(b)))
            f.write(b)
    return n, max_token_length


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", default=os.path.join(HERE, "work"))
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    model_path = train(args.work, args.threads)
    bin_path = os.path.join(args.work, "tokenizer", "tokenizer.bin")
    n, mtl = export_llama2c(model_path, bin_path)
    digest = hashlib.sha256(open(bin_path, "rb").read()).hexdigest()
    print(f"tokenizer: {n} pieces, max_token_length {mtl}, {os.path.getsize(bin_path):,} bytes, sha256 {digest[:16]}")


if __name__ == "__main__":
    main()
