"""Token streams written by tokenize.ts, the seeded training batch schedule, and the validation
windows of Sparsebook's loss contract.

Training batches: each step holds `batch` sequences of max_seq_len + 1 tokens; each sequence is a
window of ONE domain's training stream (documents as BOS + tokens, concatenated), and the domains
of a step are a seeded permutation of an equal share of each domain, so every step mixes domains
evenly. The schedule depends only on the seed, so the three models see identical data.

Validation windows (ARCHITECTURE.md "Loss over a text"): window k takes stream tokens
[kS, kS + S] (S + 1 tokens; the last one may be shorter); inputs are the first S, targets the last
S; every token after the first is predicted exactly once.
"""
import os

import numpy as np
import torch

from corpus import DOMAINS


def load_streams(work, split):
    """{domain: np.ndarray[int64]} from WORK/tokens/{split}-{domain}.u16."""
    out = {}
    for d in DOMAINS:
        path = os.path.join(work, "tokens", f"{split}-{d}.u16")
        out[d] = np.fromfile(path, dtype="<u2").astype(np.int64)
    return out


class BatchSchedule:
    """Deterministic (domain, offset) for every sequence of every step."""

    def __init__(self, streams, batch, seq_len, seed):
        assert batch % len(DOMAINS) == 0, "batch must be a multiple of the number of domains"
        self.streams = [torch.from_numpy(streams[d]) for d in DOMAINS]
        self.batch, self.seq_len = batch, seq_len
        self.rng = np.random.default_rng(seed)

    def next(self):
        """(tokens [B, S+1] int64, domain ids [B] int64) of the next step."""
        per = self.batch // len(DOMAINS)
        domains = self.rng.permutation(np.repeat(np.arange(len(DOMAINS)), per))
        rows = []
        for d in domains:
            s = self.streams[d]
            off = int(self.rng.integers(0, len(s) - self.seq_len - 1))
            rows.append(s[off : off + self.seq_len + 1])
        return torch.stack(rows), torch.from_numpy(domains)


def eval_windows(stream, seq_len):
    """Contract windows of a token stream: list of 1-D int64 tensors of length <= seq_len + 1."""
    t = torch.from_numpy(np.asarray(stream, dtype=np.int64))
    wins = []
    for start in range(0, len(t) - 1, seq_len):
        w = t[start : start + seq_len + 1]
        if len(w) >= 2:
            wins.append(w)
    return wins
