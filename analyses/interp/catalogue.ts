/**
 * The interpretability lab's compute-free catalogue: the option schemas of the logit lens,
 * activation patching, direct logit attribution and activations explorer cells, and the lists the
 * page offers (lens colourings, patchable hook points). The page imports this (eslint/layers.js);
 * the analyses themselves run in the worker (workers/interp-jobs.ts).
 */
import { option, optionSchema } from '../options';

/** What the logit lens grid is coloured by. */
export const LENS_METRICS = ['target_rank', 'target_prob', 'top1_agree', 'kl'] as const;
export type LensMetric = (typeof LENS_METRICS)[number];
export const LENS_METRIC_LABELS: Readonly<Record<LensMetric, string>> = Object.freeze({
  target_rank: "next token's rank",
  target_prob: "next token's probability",
  top1_agree: 'top-1 equals the output',
  kl: 'KL to the output (nats)',
});

/** Block hook points that patching can replace (without the `blocks.N.` prefix). */
export const PATCH_HOOKS = [
  'hook_resid_pre',
  'hook_resid_mid',
  'hook_resid_post',
  'hook_attn_out',
  'hook_mlp_out',
  'attn.hook_z',
  'attn.hook_pattern',
] as const;
/** Hooks that can be patched head by head. */
export const PER_HEAD_HOOKS: readonly string[] = ['attn.hook_z', 'attn.hook_pattern'];

/** Longest prompt or answer a cell keeps (it is saved with the notebook and travels in links). */
const MAX_PROMPT = 4000;

/** Logit lens: which document, how many top tokens; the colouring is a view param. */
export const LOGIT_LENS_OPTIONS = optionSchema({
  document: option.integer(0, { min: 0 }),
  topK: option.labelled('top tokens', option.integer(5, { min: 1, max: 20 })),
  metric: option.choice(LENS_METRICS, 'target_rank'),
});

/** The name-to-pronoun finding on stories260K (README, test/cli/interp-cli.test.ts). */
export const LILY_CLEAN = 'Once upon a time, there was a kid named Lily. One day,';
export const LILY_CORRUPTED = 'Once upon a time, there was a kid named Tim. One day,';

/** Activation patching: the prompts, the metric's tokens and the hook. */
export const PATCHING_OPTIONS = optionSchema({
  clean: option.labelled('clean prompt', option.string(LILY_CLEAN, { maxLength: MAX_PROMPT })),
  corrupted: option.labelled('corrupted prompt', option.string(LILY_CORRUPTED, { maxLength: MAX_PROMPT })),
  answer: option.labelled('answer', option.string(' she', { maxLength: 100 })),
  wrong: option.labelled('wrong token', option.string(' he', { maxLength: 100 })),
  metric: option.choice(['logit-diff', 'loss'], 'logit-diff'),
  hook: option.choice(PATCH_HOOKS, 'hook_resid_pre'),
  positions: option.choice(['all', 'each', 'heads'], 'each'),
});

/** Direct logit attribution: the prompt, the two tokens, the position (−1: the last). */
export const DLA_OPTIONS = optionSchema({
  prompt: option.labelled('prompt', option.string(LILY_CLEAN, { maxLength: MAX_PROMPT })),
  answer: option.labelled('answer', option.string(' she', { maxLength: 100 })),
  wrong: option.labelled('wrong token', option.string(' he', { maxLength: 100 })),
  position: option.integer(-1, { min: -1 }),
});

/** Activations explorer: the document, the hook and the thresholds. */
export const ACTIVATIONS_OPTIONS = optionSchema({
  document: option.integer(0, { min: 0 }),
  hook: option.labelled('hook', option.string('blocks.0.hook_resid_post', { maxLength: 100 })),
  nearZero: option.labelled('near zero', option.number(0.01, { min: 0 })),
  neuronThreshold: option.labelled('neuron threshold', option.number(0.05, { min: 0 })),
  /** View: which channel statistic the bar chart shows. */
  statistic: option.choice(['max_abs', 'mean_abs', 'kurtosis', 'near_zero'], 'max_abs'),
});
