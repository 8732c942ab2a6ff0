/**
 * The teaching-demo gallery's notebooks, as code: each demo's cells (prose, params, inputs), the
 * corpus excerpt its text cell holds, and what its gallery card says. `scripts/demo-gallery.ts`
 * writes them to public/demos/<id>.sparsebook.json and public/gallery.html, then runs them.
 *
 * Keep every sentence of the prose true for what the cells compute with these params: the demos
 * are run on the CPU backend, so the windows, points and steps are small on purpose.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { CellDoc, NotebookDoc, ParamValue } from '../app/notebook/document';
import { NOTEBOOK_FORMAT, NOTEBOOK_VERSION } from '../app/notebook/document';
import { kindOf } from '../app/cells/kinds';
import { MASK_FAMILIES } from '../analyses/attention/masks/index';

const SEP = '<|endoftext|>';
export const DOMAINS = ['literature', 'speeches', 'email', 'code'] as const;
type Domain = (typeof DOMAINS)[number];

/** What a gallery card shows and where its thumbnail comes from. */
export interface Demo {
  id: string;
  title: string;
  paper: string;
  summary: string;
  /** The cell whose chart becomes the thumbnail, and the chart element inside it. */
  thumbnail: { cell: string; selector: string };
  doc: NotebookDoc;
}

/** Documents of one domain's held-out split (public/models/corpus/valid-<domain>.txt). */
function corpusDocuments(root: string, domain: Domain): string[] {
  const text = readFileSync(path.join(root, 'public/models/corpus', `valid-${domain}.txt`), 'utf8');
  return text
    .split(SEP)
    .map((d) => d.trim())
    .filter((d) => d.length > 0);
}

/**
 * An excerpt of the held-out corpus: documents taken round-robin over `domains` (so every window
 * of the scored text mixes domains as early as possible), `perDomain` each, at most `maxChars`
 * characters per document (cut at a line break).
 */
export function corpusExcerpt(
  root: string,
  domains: readonly Domain[],
  perDomain: number,
  maxChars = 2400,
): string {
  const byDomain = domains.map((d) => corpusDocuments(root, d));
  const out: string[] = [];
  for (let i = 0; i < perDomain; i++) {
    for (const docs of byDomain) {
      const d = docs[i];
      if (!d) continue;
      const cut =
        d.length <= maxChars ? d : d.slice(0, Math.max(d.lastIndexOf('\n', maxChars), maxChars / 2));
      out.push(cut.trim());
    }
  }
  return out.join(`\n${SEP}\n`);
}

/** A cell with its kind's defaults under `params` (so a demo always names every param). */
function cell(
  id: string,
  kind: string,
  params: Record<string, ParamValue> = {},
  inputs: Record<string, string> = {},
): CellDoc {
  const spec = kindOf(kind);
  const defaults = spec ? spec.defaults() : {};
  for (const key of Object.keys(params)) {
    if (spec && !(key in defaults)) throw new Error(`${kind} has no param "${key}"`);
  }
  return { id, kind, params: { ...defaults, ...params }, inputs };
}

const md = (id: string, source: string): CellDoc => cell(id, 'markdown', { source: source.trim() + '\n' });

function notebook(title: string, cells: CellDoc[]): NotebookDoc {
  return { format: NOTEBOOK_FORMAT, version: NOTEBOOK_VERSION, title, cells };
}

const dense = (id = 'model') => cell(id, 'model', { source: 'bundled', bundled: 'sparsebook-dense' });

function findTheCliff(root: string): Demo {
  const text = corpusExcerpt(root, DOMAINS, 3);
  return {
    id: 'find-the-cliff',
    title: 'Find the cliff',
    paper: '“The Emergence of Essential Sparsity in Large Pre-trained Models” (Jaiswal et al., 2023)',
    summary:
      'One-shot magnitude pruning of the bundled dense model from 10 % to 90 % sparsity, unstructured and 2:4 / 4:8, scored on held-out text. Loss stays nearly flat, then bends up sharply: find where the cliff is, and where the N:M points fall against it.',
    thumbnail: { cell: 'sweep', selector: '[data-testid="pruning-curves"]' },
    doc: notebook('Find the cliff: essential sparsity under one-shot magnitude pruning', [
      md(
        'intro',
        `
# Find the cliff

**Paper:** *The Emergence of Essential Sparsity in Large Pre-trained Models* (Jaiswal et al., 2023).
They prune pre-trained transformers **once, by weight magnitude, with no retraining**, and find that
quality stays almost flat up to a sparsity level and then drops sharply. They call the sparsity you
get for free the *essential sparsity*; the same flat-then-cliff shape holds for N:M patterns.

**What this notebook does:** it loads the bundled dense model (a 1.3 M-parameter Llama, 4 layers,
trained on four domains), takes a held-out excerpt of its corpus, and prunes every linear layer of
every block (attention and MLP; embeddings untouched) by magnitude at 10 %, 20 %, … 90 %, plus the
2:4 and 4:8 patterns (50 % each). Each point is pruned from the intact weights and scored on the same
four windows (1,024 predicted tokens) of text.

**Press Run all** (about a minute on the CPU backend).
`,
      ),
      dense(),
      cell('text', 'text', { name: 'corpus-excerpt', text }),
      md(
        'before-sweep',
        `
The text mixes literature, State of the Union speeches, e-mail and JavaScript, round-robin, so the
four scored windows are not all one domain. The sweep below reports the dense loss as a dashed
reference line.
`,
      ),
      cell(
        'sweep',
        'pruning-sweep',
        {
          methods: ['magnitude'],
          patterns: ['unstructured', '2:4', '4:8'],
          sparsities: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
          calibrationWindows: 1,
          maxWindows: 4,
        },
        { model: 'model', text: 'text' },
      ),
      md(
        'reading',
        `
## Reading the curve

- **The flat part.** The table under the chart gives the *essential sparsity*: the highest level
  whose loss stays within 1 % of the dense loss (the sweep's tolerance), and the cliff, the first
  level past it. On the CPU run of this notebook they are 30 % and 40 %: up to 30 % magnitude
  pruning costs almost nothing.
- **The cliff.** Past it the curve bends up, slowly at first and then steeply: each further 10 %
  costs more than the one before, and 90 % destroys the model (loss about 11 nats against 3.6).
  This model has 1.3 M parameters trained on 4 M tokens; the paper's models are far larger, and
  larger pre-trained models have more to spare.
- **N:M points.** 2:4 and 4:8 both remove exactly 50 %. Compare them with the unstructured curve
  *at 50 %*: the constraint (keep 2 of every 4 consecutive weights) forces out some large weights, so
  it usually costs more than unstructured at the same sparsity; 4:8 is less constrained than 2:4.
- **Try:** switch the y axis to *next-token agreement with dense*; pick a point and look at the
  layer bars and the weight heatmap; switch x to *bytes, CSR* to see that unstructured sparsity only
  saves memory past 50 % (CSR stores an index per non-zero); *bytes, 2:4 compressed* gives the 2:4
format's cost (half the values plus 2-bit positions).

**What to change:** add \`wanda\` to the methods (it uses one calibration window) and re-run:
activation-aware scores should move the cliff to the right, as in the Wanda paper. Four scored
windows leave every point noisy by a few hundredths of a nat; raise *Eval windows* for smoother
curves (each window adds time to every point).
`,
      ),
    ]),
  };
}

function equalMemoryDuel(root: string): Demo {
  const text = corpusExcerpt(root, DOMAINS, 3);
  return {
    id: 'equal-memory-duel',
    title: 'Equal memory duel',
    paper: '“To prune, or not to prune” (Zhu & Gupta, 2017)',
    summary:
      'At an equal number of non-zero weights, is a big model with zeros in it better than a narrower dense one? The bundled dense model pruned unstructured and 2:4 (large-sparse) against the same model with whole MLP channels removed (small-dense), one-shot; then the same duel counted in bytes.',
    thumbnail: { cell: 'sweep', selector: '[data-testid="pruning-curves"]' },
    doc: notebook('Equal memory duel: large-sparse against small-dense', [
      md(
        'intro',
        `
# Equal memory duel

**Paper:** *To prune, or not to prune: exploring the efficacy of pruning for model compression*
(Zhu & Gupta, 2017). They prune large models gradually during training and compare them with small
dense models trained to the **same number of non-zero parameters**: large-sparse wins, with up to
10× fewer non-zeros at a small loss of accuracy.

**What can be compared here, honestly.** Sparsebook bundles one dense model, and its pruning sweep
prunes dense models only (it refuses the two MoE models: "pruning needs a dense model"). There is no
separately trained smaller dense model, and no retraining after pruning. So the duel below is
between ways of removing weights from the same bundled dense model, **one-shot**:

- **large-sparse:** \`unstructured\` pruning (zeros anywhere in every block linear) and \`2:4\`
  (two of every four consecutive weights kept);
- **small-dense:** \`channels\` pruning: whole hidden channels of each MLP removed (rows of w1 and
  w3, the matching columns of w2). What is left is a narrower but still dense MLP, the model you
  would get with a smaller \`intermediate_size\`, but with the weights it already had.

Each with magnitude and with Wanda scores (Wanda uses one calibration window of text). Channels
pruning only touches the MLPs, so its "sparsity" is not comparable with the others': the chart
starts on the **non-zero weights** axis.
`,
      ),
      dense(),
      cell('text', 'text', { name: 'corpus-excerpt', text }),
      cell(
        'sweep',
        'pruning-sweep',
        {
          methods: ['magnitude', 'wanda'],
          patterns: ['unstructured', '2:4', 'channels'],
          sparsities: [0.2, 0.4, 0.6, 0.8],
          calibrationWindows: 1,
          maxWindows: 4,
          xAxis: 'nonzeros',
        },
        { model: 'model', text: 'text' },
      ),
      md(
        'reading',
        `
## Reading the duel

**At equal non-zeros** (the paper's comparison) follow a vertical line on the chart: the
unstructured curves sit far below the channels curves, and the 2:4 points (50 % of the block
linears, about 393 K non-zeros) sit well below the channels curve at the same count. Spending a
budget of non-zeros on a wide model with zeros scattered in it beats keeping a narrow dense one —
the direction Zhu & Gupta found, here without the retraining they had.

**At equal bytes** the duel changes, because a sparse matrix must also store where its values are.
Per kept weight, in float32 with int32 indices (the sweep's accounting):

| format | bytes per non-zero |
|---|---|
| channels-pruned (a narrower dense matrix) | 4 |
| 2:4 compressed (value + 2-bit position) | 4.25 |
| unstructured, CSR (value + column index) | 8, plus row pointers |

So at equal memory, the CSR model may keep only **half** the non-zeros of the channels model:
compare a channels point at N non-zeros with the unstructured curve at N / 2. Read off the chart,
that comparison is close and goes both ways: the narrow dense model does better at mild pruning
(the channels points at about 670 K and 550 K non-zeros against unstructured at half that), about
ties near 430 K, and loses at the far end (about 310 K). 2:4 pays almost no index overhead: at
about 393 K non-zeros it clearly beats channels pruning at a similar memory (the 60 % channels
point, about 430 K).
The chart's *bytes* axes cannot show this directly: *bytes, dense f32* counts the full matrices
(the sweep keeps their shape), and *bytes, CSR* charges channels pruning for indices it would not
need.

**Caveats:** one model, one seed, four scored windows (about 1,000 tokens); "small-dense" is a
pruned model, not a small model trained from scratch (a trained one would do better); no point is
retrained. The MoE models are not part of this duel: they store more (1.9 M parameters) but use
fewer per token (1.0 M active), a different trade.

**What to change:** add \`sparsegpt\` (it updates the kept weights and usually narrows the gaps at
high sparsity), or the \`heads\` pattern (whole attention heads removed).
`,
      ),
    ]),
  };
}

function microVsGlobal(root: string): Demo {
  void root;
  const routing = (id: string, model: string) =>
    cell(id, 'moe-routing', { maxTokens: 2048, layer: 3, view: 'usage' }, { model });
  return {
    id: 'micro-vs-global-balancing',
    title: 'Micro- vs global-batch balancing',
    paper:
      '“Demons in the Detail: On Implementing Load Balancing Loss for Training Specialized MoE Models” (Qiu et al., 2025)',
    summary:
      'Two bundled MoE models that differ only in where the load-balancing loss counts expert usage: in each sequence (micro-batch) or over the whole batch (global). Compare their domain × expert usage, load and specialisation, layer by layer.',
    thumbnail: { cell: 'routing-global', selector: '[data-testid="moe-usage"]' },
    doc: notebook('Micro- vs global-batch balancing: expert specialisation', [
      md(
        'intro',
        `
# Micro- vs global-batch balancing

**Paper:** *Demons in the Detail: On Implementing Load Balancing Loss for Training Specialized MoE
Models* (Qiu et al., 2025). The Switch-style load-balancing loss is LBL = N_E · Σ_i f_i · p_i,
f_i the share of tokens sent to expert i. Most frameworks count f_i **per micro-batch**, often a
single sequence, so the loss pushes *every sequence* to use all experts evenly. Counting f_i over the
**global batch** only asks the experts to be evenly used *overall*. The paper finds the global scope
gives better perplexity and much stronger **domain specialisation** of experts.

**The two models.** \`sparsebook-moe-micro\` and \`sparsebook-moe-global\` are the same Mixtral-style
model (4 layers, 8 experts, top-2), same initialisation, same data order, trained on four domains
(literature, speeches, e-mail, code; each training sequence from one domain); only the LBL scope
differs. Their README reports the specialisation on the held-out split: 0.047 nats (micro) against
0.198 nats (global), mean over layers.

**What to look for:** in the domain × expert usage of the global model, rows (domains) that look
different from each other — code sending about half of its assignments to two experts; in the micro
model, rows that look alike.
`,
      ),
      cell('micro', 'model', { source: 'bundled', bundled: 'sparsebook-moe-micro' }),
      cell('global', 'model', { source: 'bundled', bundled: 'sparsebook-moe-global' }),
      md(
        'before-routing',
        `
Each routing cell runs its model over the first 2,048 tokens of each domain's held-out text and
counts, per layer, where the top-2 assignments go. Both start on **layer 3**, the last one, where the
README measured the largest gap.
`,
      ),
      routing('routing-micro', 'micro'),
      routing('routing-global', 'global'),
      md(
        'reading',
        `
## Reading the two

- **Usage.** Each row is a domain, each column an expert, the colour the share of that domain's
  assignments. The global model's rows differ: experts that code uses heavily are rare in literature
  and speeches. The micro model spreads each domain more evenly, because each training sequence (one
  domain) was itself pushed towards uniform routing.
- **Load.** The overall load per expert is about as even in both: global balancing did not give up
  balance across the batch, it only stopped enforcing it inside each sequence.
- **Specialisation** (mean KL divergence of each expert's domain mix from the corpus's): higher for
  the global model at every layer. With 2,048 tokens per domain the numbers differ a little from the
  README's, which counted the whole held-out split.
- **Router entropy** (how spread each token's router probabilities are) is lower for the global
  model: its router is more decisive per token, while its load over all tokens stays near uniform.
- **Loss** is not part of this story at this size: both models reach the same validation loss
  within 0.002 nats (README), unlike the paper's larger models.

**What to change:** the layer (layer 0 differs less), *tokens per domain* (more tokens, steadier
numbers, longer runs).
`,
      ),
    ]),
  };
}

function attentionMaskZoo(root: string): Demo {
  const text = corpusExcerpt(root, DOMAINS, 2);
  return {
    id: 'attention-mask-zoo',
    title: 'Attention mask zoo',
    paper: 'StreamingLLM, HiP, block-sparse, DHSA, Double Sparsity, MoA and Mustafar (METHODS.md)',
    summary:
      'Nine sparse-attention families applied inside the forward pass at 5 % to 50 % density: loss and the attention mass each keeps. Which heads are sparse to begin with, what a mask keeps on one head, and which family loses least for its budget.',
    thumbnail: { cell: 'sweep', selector: 'figure' },
    doc: notebook('Attention mask zoo: mass kept against loss', [
      md(
        'intro',
        `
# Attention mask zoo

Sparse attention methods keep a subset of the causal query–key pairs and drop the rest. Each family
decides differently *which* pairs: a fixed window plus the first tokens (**StreamingLLM**), the exact
top-k keys per query (an oracle), a hierarchical approximation of top-k (**HiP**), blocks of keys
scored by pooled q·k (**block-sparse**, and its **permuted** variant), chunk similarity (**DHSA**),
approximate scores from a few channels (**Double Sparsity**), per-head windows (**MoA**) and
magnitude-pruned key/value vectors (**Mustafar**). Their papers report small quality loss at high
sparsity on long contexts of large models.

**What this notebook does**, on the bundled dense model (context 256):

1. **Probes:** which heads are already sparse (low entropy, attention on the first token).
2. **One mask up close:** sliding window + sinks, on one head of one document.
3. **The sweep:** nine families at 5 %, 10 %, 25 % and 50 % of the causal entries, applied inside
   the forward pass; loss and **recall** (the share of the attention mass the mask keeps) per point.
`,
      ),
      dense(),
      cell('text', 'text', { name: 'corpus-excerpt', text }),
      cell('probes', 'attention-probes', { maxWindows: 2, metric: 'sink' }, { model: 'model', text: 'text' }),
      md(
        'after-probes',
        `
The grid colours each head (rows: layers, columns: heads) by its *sink mass*, the attention on the
first token; switch the metric to *entropy* or *mean distance*. By the probe's rules no head of
this small model is sink-dominated or purely local: a window + sinks mask has no head that it fits
perfectly, which the sweep below bears out.
`,
      ),
      cell(
        'mask',
        'attention-mask',
        { family: 'window-sink', budget: 0.25, layer: 1, head: 0, document: 0 },
        { model: 'model', text: 'text' },
      ),
      md(
        'after-mask',
        `
The map shows one head's attention on the first document with the mask drawn over it: what is kept,
what is dropped, and how much attention mass the dropped entries carried. Change the family to
\`topk\` to see the pattern that keeps the most mass for the same density, or \`block\` to see
whole tiles kept.
`,
      ),
      cell(
        'sweep',
        'attention-sweep',
        {
          // Every registered family, in the registry's order.
          families: MASK_FAMILIES.map((f) => f.id),
          budgets: [0.05, 0.1, 0.25, 0.5],
          maxWindows: 2,
        },
        { model: 'model', text: 'text' },
      ),
      md(
        'reading',
        `
## Reading the zoo

- **Loss against density.** Exact top-k keeps, for every query, the keys with the most mass at a
  uniform budget: the approximations of it (HiP, block, chunk, channel) sit above it. **MoA** does better
  still on this model, although its windows are cruder, because it does not spend the budget
  uniformly: heads that matter get wider windows. Where the budget goes matters as much as which
  keys are picked. The *best config* line names the cheapest point within +0.05 nats of dense.
- **Mass kept against loss.** The recall chart shows how much attention mass each mask keeps; loss
  rises as recall falls, but not at the same rate for every family. KV magnitude (Mustafar) loses
  the most at low budgets: it drops entries of the key and value vectors by magnitude rather than
  choosing query–key pairs by attention.
- **Scale.** This model's context is 256 tokens: at 10 % density a query keeps at most about 25 keys.
  The papers' savings are on contexts of thousands of tokens, where the same share leaves far more;
  read the ranking of the families, not the absolute numbers.
- **Noise.** Two windows (about 500 predicted tokens) per point: differences of a few hundredths
  of a nat are within noise. Raise *Windows* for steadier curves (each window is one more masked
  forward pass per point).
`,
      ),
    ]),
  };
}

function whatDoesAFeatureMean(root: string): Demo {
  const text = corpusExcerpt(root, DOMAINS, 3);
  return {
    id: 'what-does-a-feature-mean',
    title: 'What does a feature mean?',
    paper:
      '“Scaling and evaluating sparse autoencoders” (Gao et al., 2024) and “Towards Monosemanticity” (Bricken et al., 2023)',
    summary:
      'Train a small TopK sparse autoencoder on the residual stream of the bundled model in under a minute, then read its features: top-activating contexts, density, the tokens each one promotes, and which of them look like one concept.',
    thumbnail: { cell: 'sae', selector: '[data-testid="sae-curves"]' },
    doc: notebook('What does a feature mean? A small SAE, read', [
      md(
        'intro',
        `
# What does a feature mean?

A **sparse autoencoder** (SAE) rewrites each activation vector x as a sparse, non-negative
combination of many learned directions: z = TopK(W_enc(x − b_dec) + b_enc), x̂ = W_dec·z + b_dec.
*Scaling and evaluating sparse autoencoders* (Gao et al., 2024) trains TopK SAEs (exactly k latents
active per token) on GPT-4 activations and finds many latents that respond to one human-readable
concept; *Towards Monosemanticity* (Bricken et al., 2023) did the same with ReLU SAEs on a
one-layer model.

**What this notebook does:** trains a TopK SAE (k = 8, 4× expansion: 512 latents for the 128-wide
residual stream) after the middle block (\`blocks.2.hook_resid_post\`) of the bundled dense model, on
a held-out excerpt mixing literature, speeches, e-mail and code — only **300 steps**, so it finishes
in seconds on the CPU. Then it browses the features on the same text.
`,
      ),
      dense(),
      cell('text', 'text', { name: 'corpus-excerpt', text }),
      cell(
        'sae',
        'sae',
        { kind: 'topk', k: 8, expansion: 4, steps: 300, batchSize: 256, lr: 0.003, evalWindows: 1 },
        { model: 'model', text: 'text' },
      ),
      md(
        'after-sae',
        `
**The training curves:** reconstruction error (MSE) falls and L0 stays at k = 8 by construction.
The evaluation (on the first window, held out from training) gives the *explained variance* and the
*loss recovered* when the SAE's reconstruction replaces the activation in the forward pass: how much
of the model's behaviour the 8 active latents per token carry. 300 steps is far from converged: on
the CPU run of this notebook it explains about 76 % of the variance and recovers about 91 % of the
loss, with about a fifth of the latents dead (never active on the evaluation window).
`,
      ),
      cell(
        'features',
        'sae-features',
        { maxWindows: 6, topN: 8, sortBy: 'density', descending: true },
        { sae: 'sae', text: 'text' },
      ),
      md(
        'reading',
        `
## Reading the features

Open a feature to see its **top contexts** (where it fires hardest, the token highlighted), its
**activation histogram** and its **logit effect** (the tokens its decoder direction promotes when
projected through the unembedding).

- **Dense features** (top of the list, sorted by density) fire on a large share of tokens; they
  can track something broad, such as a whole domain; check their contexts before naming them.
- **Sparse features** (sort ascending) fire rarely; their contexts are often one token or one
  word in many places. A feature whose top contexts and top logits agree is the easiest to name.
- **Be careful** naming features from 8 contexts of a 6-window text: a feature can look like it
  means "the" in eight contexts and something else on other text. The paper's interpretability
  scores use many more contexts and held-out explanations.

**What to change:** type a prompt in the *prompt* box to see which features fire on each token;
steer with one feature and watch the generated text change; raise the SAE's *steps* to 1,000 and
compare the number of dead latents (a longer run).
`,
      ),
    ]),
  };
}

/** All demos, in gallery order. `root` is the repository root (for the corpus files). */
export function demos(root: string): Demo[] {
  return [
    findTheCliff(root),
    equalMemoryDuel(root),
    microVsGlobal(root),
    attentionMaskZoo(root),
    whatDoesAFeatureMean(root),
  ];
}
