"""Routing statistics of the MoE models on the held-out split: per-domain expert usage and the
specialisation score.

counts[l, d, e] = number of (token, expert) assignments of layer l's router (top-k, so each token
counts k times) over the tokens of domain d's validation stream, every token routed once in windows
[kS, (k+1)S) with fresh context (as `sparsebook moe-stats` does).

Specialisation of layer l: mean over experts e of KL(P_l(domain | expert e) || P_l(domain)), natural
log, where P_l(domain) is the domains' share of all assignments of the layer (= their share of
tokens) and P_l(domain | e) the domains' share of expert e's assignments. 0 when every expert sees
the corpus mix; log(1/P(d)) when each expert serves a single domain d. Experts with no assignment
are left out of the mean (and counted in `unused_experts`). The model's score is the mean over layers.
"""

import numpy as np


def kl(p, q):
    m = p > 0
    return float(np.sum(p[m] * np.log(p[m] / q[m])))


def specialisation(counts):
    """counts [L, D, E] -> {"per_layer": [...], "mean": float, "unused_experts": [...]}"""
    counts = np.asarray(counts, dtype=np.float64)
    per_layer, unused = [], []
    for c in counts:
        corpus = c.sum(1) / c.sum()
        kls = []
        n_unused = 0
        for e in range(c.shape[1]):
            col = c[:, e]
            if col.sum() == 0:
                n_unused += 1
                continue
            kls.append(kl(col / col.sum(), corpus))
        per_layer.append(float(np.mean(kls)))
        unused.append(n_unused)
    return {"per_layer": per_layer, "mean": float(np.mean(per_layer)), "unused_experts": unused}


def usage_share(counts):
    """[L, D, E]: share of each domain's assignments that go to each expert (rows sum to 1)."""
    counts = np.asarray(counts, dtype=np.float64)
    return counts / counts.sum(2, keepdims=True)


def load_share(counts):
    """[L, E]: share of all assignments per expert (uniform = 1/E)."""
    counts = np.asarray(counts, dtype=np.float64)
    tot = counts.sum(1)
    return tot / tot.sum(1, keepdims=True)


def load_cv(counts):
    """[L]: coefficient of variation of the experts' load (0 = perfectly balanced)."""
    share = load_share(counts)
    return (share.std(1) / share.mean(1)).tolist()


