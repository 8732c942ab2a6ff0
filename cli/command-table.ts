/**
 * The CLI's commands, each imported only when it runs: `sparsebook --help` prints the summaries
 * below without loading the runtime (test/cli/command-table.test.ts checks every summary is its
 * command's USAGE first line, so the two cannot drift apart).
 */
export interface Command {
  run: (argv: string[], print: (l: string) => void) => Promise<void>;
  usage: string;
}

interface Entry {
  /** The first line of the command's USAGE. */
  summary: string;
  load: () => Promise<Command>;
}

export const COMMANDS: Record<string, Entry> = {
  eval: {
    summary: 'sparsebook eval --model DIR|M [--tokenizer T] --text F [--backend cpu|webgpu] [--json]',
    load: async () => {
      const m = await import('./commands/eval');
      return { run: m.evalCommand, usage: m.EVAL_USAGE };
    },
  },
  'attention-probe': {
    summary:
      'sparsebook attention-probe --model DIR|M [--tokenizer T] --text F [--max-windows N] [--max-tokens N] [--n-sink N] [--backend cpu|webgpu] [--out FILE.arrow|FILE.parquet] [--json]',
    load: async () => {
      const m = await import('./commands/attention-probe');
      return { run: m.attentionProbeCommand, usage: m.ATTENTION_PROBE_USAGE };
    },
  },
  attention: {
    summary:
      'sparsebook attention --model DIR|M [--tokenizer T] --text F (--mask FAMILY --budget B | --sweep --budgets B1,B2,… [--families A,B,…] [--export FILE --max-loss-increase X]) [--max-windows N] [--calibration F2] [--backend cpu|webgpu] [--json]',
    load: async () => {
      const m = await import('./commands/attention');
      return { run: m.attentionCommand, usage: m.ATTENTION_USAGE };
    },
  },
  generate: {
    summary:
      'sparsebook generate --model M|DIR [--tokenizer T] [--prompt P] --steps N [--temperature 0] [--seed S] [--backend cpu|webgpu]',
    load: async () => {
      const m = await import('./commands/generate');
      return { run: m.generateCommand, usage: m.GENERATE_USAGE };
    },
  },
  'moe-stats': {
    summary:
      'sparsebook moe-stats --model DIR|M [--tokenizer T] --text [DOMAIN=]F [--text …] [--max-tokens N]',
    load: async () => {
      const m = await import('./commands/moe-stats');
      return { run: m.moeStatsCommand, usage: m.MOE_STATS_USAGE };
    },
  },
  'moe-balance': {
    summary: 'sparsebook moe-balance --model DIR|M [--tokenizer T] --text F --method aux-free [--rate u]',
    load: async () => {
      const m = await import('./commands/moe-balance');
      return { run: m.moeBalanceCommand, usage: m.MOE_BALANCE_USAGE };
    },
  },
  'moe-prune': {
    summary:
      'sparsebook moe-prune --model DIR|M [--tokenizer T] --calibration F --text F [--by frequency|weight]',
    load: async () => {
      const m = await import('./commands/moe-prune');
      return { run: m.moePruneCommand, usage: m.MOE_PRUNE_USAGE };
    },
  },
  'chunk-sparsity': {
    summary:
      'sparsebook chunk-sparsity --model DIR|M [--tokenizer T] --text F [--threshold t] [--chunks 1,2,4,…]',
    load: async () => {
      const m = await import('./commands/chunk-sparsity');
      return { run: m.chunkSparsityCommand, usage: m.CHUNK_SPARSITY_USAGE };
    },
  },
  'logit-lens': {
    summary:
      'sparsebook logit-lens --model DIR|M [--tokenizer T] --text F [--max-windows N] [--backend cpu|webgpu] [--json]',
    load: async () => {
      const m = await import('./commands/logit-lens');
      return { run: m.logitLensCommand, usage: m.LOGIT_LENS_USAGE };
    },
  },
  patch: {
    summary:
      'sparsebook patch --model DIR|M [--tokenizer T] --clean TEXT --corrupted TEXT --answer TOK [--wrong TOK]',
    load: async () => {
      const m = await import('./commands/patch');
      return { run: m.patchCommand, usage: m.PATCH_USAGE };
    },
  },
  dla: {
    summary:
      'sparsebook dla --model DIR|M [--tokenizer T] --prompt TEXT --answer TOK --wrong TOK [--position P]',
    load: async () => {
      const m = await import('./commands/dla');
      return { run: m.dlaCommand, usage: m.DLA_USAGE };
    },
  },
  activations: {
    summary:
      'sparsebook activations --model DIR|M [--tokenizer T] --text F --hook H [--max-tokens N] [--near-zero e]',
    load: async () => {
      const m = await import('./commands/activations');
      return { run: m.activationsCommand, usage: m.ACTIVATIONS_USAGE };
    },
  },
  prune: {
    summary:
      'sparsebook prune --model DIR|M [--tokenizer T] --text F --method magnitude|wanda|sparsegpt --pattern unstructured|N:M|channels|heads --sparsity S [--calibration F2] [--calibration-windows N] [--max-windows N] [--allocation uniform|sensitivity] [--global] [--backend cpu|webgpu] [--out DIR] [--json]',
    load: async () => {
      const m = await import('./commands/prune');
      return { run: m.pruneCommand, usage: m.PRUNE_USAGE };
    },
  },
  report: {
    summary:
      'sparsebook report --notebook N.sparsebook.json [--model DIR|M [--tokenizer T]] [--backend cpu|webgpu] --out report.html [--json]',
    load: async () => {
      const m = await import('./commands/report');
      return { run: m.reportCommand, usage: m.REPORT_USAGE };
    },
  },
  sae: {
    summary: 'sparsebook sae train|eval|info|releases …',
    load: async () => {
      const m = await import('./commands/sae');
      return { run: m.saeCommand, usage: m.SAE_USAGE };
    },
  },
};
