import { activationPatching, type PatchMetric } from '../../analyses/interp';
import { backendFlag, parseFlags, required, UsageError } from '../args';
import { loadModel } from '../session';
import { tokenArg } from '../token-arg';

export const PATCH_USAGE = `sparsebook patch --model DIR|M [--tokenizer T] --clean TEXT --corrupted TEXT --answer TOK [--wrong TOK]
                 --hook H [--positions all|each] [--heads] [--metric logit-diff|loss] [--backend cpu|webgpu] [--json]

Activation patching: run the clean and the corrupted prompt (equal token length; each starts with
the document token), then rerun the corrupted one with the hook H (a block hook point without the
layer: hook_resid_pre, hook_attn_out, hook_mlp_out, attn.hook_z, attn.hook_pattern, …) at each
layer replaced by its clean value — at every position (all) or at each position on its own (each);
--heads also patches each head of attn.hook_z / attn.hook_pattern. The metric at the last position
is logit(answer) − logit(wrong) (default) or the loss of the answer; restored = (patched −
corrupted)/(clean − corrupted). TOK is a single token's text (e.g. " Mary") or #ID. With --json the
last line has "restored" (per layer, all) or "restored_by_position" ([layer][position], each).`;

export async function patchCommand(argv: string[], print: (line: string) => void): Promise<void> {
  const f = parseFlags(
    argv,
    {
      model: { type: 'string' },
      tokenizer: { type: 'string' },
      clean: { type: 'string' },
      corrupted: { type: 'string' },
      answer: { type: 'string' },
      wrong: { type: 'string' },
      hook: { type: 'string' },
      positions: { type: 'string' },
      heads: { type: 'boolean' },
      metric: { type: 'string' },
      backend: { type: 'string' },
      json: { type: 'boolean' },
    },
    PATCH_USAGE,
  );
  const positions = f.positions ?? 'all';
  if (positions !== 'all' && positions !== 'each')
    throw new UsageError(`--positions must be all or each, got '${positions}'`);
  const metricKind = f.metric ?? 'logit-diff';
  if (metricKind !== 'logit-diff' && metricKind !== 'loss')
    throw new UsageError(`--metric must be logit-diff or loss, got '${metricKind}'`);
  if (metricKind === 'logit-diff' && f.wrong === undefined)
    throw new UsageError(`--metric logit-diff needs --wrong\n\n${PATCH_USAGE}`);
  const point = required(f.hook, 'hook', PATCH_USAGE).replace(/^blocks\.\d+\./, '');
  const { backend, model, tokenizer, source } = await loadModel(
    backendFlag(f.backend),
    required(f.model, 'model', PATCH_USAGE),
    f.tokenizer,
  );
  try {
    const clean = tokenizer.encode(required(f.clean, 'clean', PATCH_USAGE), { source: '--clean' });
    const corrupted = tokenizer.encode(required(f.corrupted, 'corrupted', PATCH_USAGE), {
      source: '--corrupted',
    });
    const answer = tokenArg(tokenizer, required(f.answer, 'answer', PATCH_USAGE), 'answer');
    const metric: PatchMetric =
      metricKind === 'loss'
        ? { kind: 'loss', answer }
        : { kind: 'logit-diff', answer, wrong: tokenArg(tokenizer, f.wrong!, 'wrong') };
    const r = await activationPatching(model, {
      clean,
      corrupted,
      metric,
      point,
      positions,
      perHead: f.heads,
      onProgress: f.json ? undefined : ({ done, total }) => process.stderr.write(`\rrun ${done}/${total}`),
    });
    if (!f.json) process.stderr.write('\n');
    const out = {
      model: source,
      hook: point,
      metric: metricKind,
      tokens: Array.from(clean, (t) => tokenizer.piece(t)),
      clean: r.clean,
      corrupted: r.corrupted,
      ...(r.all ? { restored: r.all } : {}),
      ...(r.byPosition ? { restored_by_position: r.byPosition } : {}),
      ...(r.byHead ? { restored_by_head: r.byHead } : {}),
    };
    if (f.json) print(JSON.stringify(out));
    else {
      print(
        `${source}: patching ${point}; ${metricKind} clean ${r.clean.toFixed(4)}, corrupted ${r.corrupted.toFixed(4)}`,
      );
      const pct = (v: number) => `${(100 * v).toFixed(0)}`.padStart(5);
      if (r.all) r.all.forEach((v, l) => print(`layer ${l}: restored ${(100 * v).toFixed(1)} %`));
      if (r.byPosition) {
        print(`layer ${out.tokens.map((t) => JSON.stringify(t).slice(0, 5).padStart(5)).join(' ')}`);
        r.byPosition.forEach((row, l) => print(`${String(l).padStart(5)} ${row.map(pct).join(' ')}`));
      }
      if (r.byHead) r.byHead.forEach((row, l) => print(`layer ${l} heads: ${row.map(pct).join(' ')} %`));
    }
  } finally {
    model.dispose();
    backend.destroy();
  }
}
