import { UsageError } from './args';
import { ATTENTION_USAGE, attentionCommand } from './commands/attention';
import { ATTENTION_PROBE_USAGE, attentionProbeCommand } from './commands/attention-probe';
import { ACTIVATIONS_USAGE, activationsCommand } from './commands/activations';
import { CHUNK_SPARSITY_USAGE, chunkSparsityCommand } from './commands/chunk-sparsity';
import { DLA_USAGE, dlaCommand } from './commands/dla';
import { LOGIT_LENS_USAGE, logitLensCommand } from './commands/logit-lens';
import { PATCH_USAGE, patchCommand } from './commands/patch';
import { EVAL_USAGE, evalCommand } from './commands/eval';
import { GENERATE_USAGE, generateCommand } from './commands/generate';
import { MOE_BALANCE_USAGE, moeBalanceCommand } from './commands/moe-balance';
import { MOE_PRUNE_USAGE, moePruneCommand } from './commands/moe-prune';
import { MOE_STATS_USAGE, moeStatsCommand } from './commands/moe-stats';
import { PRUNE_USAGE, pruneCommand } from './commands/prune';
import { REPORT_USAGE, reportCommand } from './commands/report';
import { SAE_USAGE, saeCommand } from './commands/sae';

const COMMANDS: Record<
  string,
  { run: (argv: string[], print: (l: string) => void) => Promise<void>; usage: string }
> = {
  eval: { run: evalCommand, usage: EVAL_USAGE },
  'attention-probe': { run: attentionProbeCommand, usage: ATTENTION_PROBE_USAGE },
  attention: { run: attentionCommand, usage: ATTENTION_USAGE },
  generate: { run: generateCommand, usage: GENERATE_USAGE },
  'moe-stats': { run: moeStatsCommand, usage: MOE_STATS_USAGE },
  'moe-balance': { run: moeBalanceCommand, usage: MOE_BALANCE_USAGE },
  'moe-prune': { run: moePruneCommand, usage: MOE_PRUNE_USAGE },
  'chunk-sparsity': { run: chunkSparsityCommand, usage: CHUNK_SPARSITY_USAGE },
  'logit-lens': { run: logitLensCommand, usage: LOGIT_LENS_USAGE },
  patch: { run: patchCommand, usage: PATCH_USAGE },
  dla: { run: dlaCommand, usage: DLA_USAGE },
  activations: { run: activationsCommand, usage: ACTIVATIONS_USAGE },
  prune: { run: pruneCommand, usage: PRUNE_USAGE },
  report: { run: reportCommand, usage: REPORT_USAGE },
  sae: { run: saeCommand, usage: SAE_USAGE },
};

const HELP = `sparsebook — sparsity workbench, headless

Commands:
${Object.values(COMMANDS)
  .map((c) => '  ' + c.usage.split('\n')[0])
  .join('\n')}`;

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(HELP);
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`unknown command '${name}'\n\n${HELP}`);
    return 2;
  }
  try {
    await command.run(rest, (line) => console.log(line));
    return 0;
  } catch (e) {
    const err = e as Error;
    console.error(
      `sparsebook ${name}: ${err instanceof UsageError ? err.message : `${err.name}: ${err.message}`}`,
    );
    return err instanceof UsageError ? 2 : 1;
  }
}

// Exit explicitly: Dawn (Node WebGPU) can keep the event loop alive after the device is destroyed.
process.exit(await main(process.argv.slice(2)));
