import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  collectRoutingLog,
  moeLogReport,
  readRoutingLog,
  routingLogToParquet,
  type MicroBatchScope,
  type MoeLogReport,
  type RoutingLog,
} from '../../analyses/moe';
import { buildTokenStream } from '../../runtime';
import { backendFlag, numberFlag, parseFlags, UsageError } from '../args';
import { MOE_INTERVENTION_FLAGS, MOE_INTERVENTION_USAGE, moeInterventionFlags } from '../moe-flags';
import { routingLogFiles } from '../routing-log-input';
import { loadModel, readText } from '../session';

export const MOE_STATS_USAGE = `sparsebook moe-stats --model DIR|M [--tokenizer T] --text [DOMAIN=]F [--text …] [--max-tokens N]
                    [--routing-out F.parquet [--split-rows N]] [--backend cpu|webgpu] [interventions] [--json]
sparsebook moe-stats --routing-log F.parquet|DIR|URL [--routing-log …] [--json]

Routing statistics of a mixture-of-experts model over texts from several domains, or of a routing
log recorded earlier (here with --routing-out, or by tools/routing-log/hf_routing_log.py on a GPU
server) without the model. Per layer:
  expert load (share of token→expert assignments), router entropy (mean per-token entropy of the
  router probabilities) and load entropy, specialisation (mean over experts of KL(expert's domain
  distribution ‖ corpus's), nats) and domain × expert usage; co-activation (share of expert i's
  tokens that also chose j); top-k mass (router probability of the chosen experts); vocabulary
  specialisation; cross-layer consistency of first choices; chunk-level sparsity (TLS, CLS per
  chunk length); the load-balancing loss N_E·Σ f_i·p_i at micro-batch scope (per document, or
  --micro-batch N tokens) and at global scope (f over all tokens).

Each --text is one domain; its name is DOMAIN= when given, else the file name without extension
and without a "valid-" prefix (valid-code.txt → code). --max-tokens routes only the first N tokens
of each text. --routing-out writes the log as Parquet (--split-rows N: several files of at most N
rows, named F-00000.parquet, …). With --json, one JSON object is printed as the last line.

${MOE_INTERVENTION_USAGE}`;

/** `domain=path`, or a path whose domain is its base name minus "valid-" and the extension. */
export function parseTextArg(arg: string): { domain: string; file: string } {
  const m = /^([^=/\\]+)=(.+)$/.exec(arg);
  if (m) return { domain: m[1]!, file: m[2]! };
  const base = path.basename(arg, path.extname(arg));
  return { domain: base.replace(/^valid-/, ''), file: arg };
}

export async function moeStatsCommand(argv: string[], print: (line: string) => void): Promise<void> {
  const f = parseFlags(
    argv,
    {
      model: { type: 'string' },
      tokenizer: { type: 'string' },
      text: { type: 'string', multiple: true },
      'max-tokens': { type: 'string' },
      'routing-out': { type: 'string' },
      'split-rows': { type: 'string' },
      'routing-log': { type: 'string', multiple: true },
      'micro-batch': { type: 'string' },
      backend: { type: 'string' },
      json: { type: 'boolean' },
      ...MOE_INTERVENTION_FLAGS,
    },
    MOE_STATS_USAGE,
  );
  const microBatch = microBatchFlag(f['micro-batch']);
  const t0 = performance.now();
  let header: Record<string, unknown>;
  let log: RoutingLog;
  if (f['routing-log']?.length) {
    for (const flag of ['model', 'text', 'routing-out'] as const) {
      if (f[flag] !== undefined)
        throw new UsageError(
          `--${flag} does not go with --routing-log (the log replaces the model run)\n\n${MOE_STATS_USAGE}`,
        );
    }
    log = await readRoutingLog(await routingLogFiles(f['routing-log']), {
      onProgress: f.json
        ? undefined
        : ({ done, total }) => process.stderr.write(`\rrow group ${done}/${total}`),
    });
    if (!f.json) process.stderr.write('\n');
    header = { routing_log: f['routing-log'], source: log.source };
  } else {
    ({ log, header } = await recordLog(f, print));
  }
  const report = moeLogReport(log, { microBatch });
  const seconds = (performance.now() - t0) / 1000;
  if (f.json) print(JSON.stringify({ ...header, seconds, ...report }));
  else printReadable(report, `${log.source}, ${seconds.toFixed(2)} s`, print);
}

async function recordLog(
  f: Record<string, string | string[] | boolean | undefined>,
  print: (line: string) => void,
): Promise<{ log: RoutingLog; header: Record<string, unknown> }> {
  if (typeof f.model !== 'string')
    throw new UsageError(`missing --model (or give --routing-log)\n\n${MOE_STATS_USAGE}`);
  const textArgs = f.text as string[] | undefined;
  if (!textArgs?.length) throw new UsageError(`missing --text\n\n${MOE_STATS_USAGE}`);
  const texts = textArgs.map(parseTextArg);
  const maxTokens = numberFlag(f['max-tokens'] as string | undefined, 'max-tokens', Infinity);
  if (!(maxTokens >= 1)) throw new UsageError(`--max-tokens must be at least 1, got ${f['max-tokens']}`);
  const splitRows = numberFlag(f['split-rows'] as string | undefined, 'split-rows', Infinity);
  if (f['split-rows'] !== undefined && !(Number.isInteger(splitRows) && splitRows >= 1)) {
    throw new UsageError(`--split-rows must be a positive integer, got ${f['split-rows']}`);
  }
  const moe = moeInterventionFlags(f as Parameters<typeof moeInterventionFlags>[0]);
  const { backend, model, tokenizer, info, source } = await loadModel(
    backendFlag(f.backend as string | undefined),
    f.model,
    f.tokenizer as string | undefined,
  );
  try {
    const streams = [];
    for (const t of texts) {
      const name = path.basename(t.file);
      const s = buildTokenStream(tokenizer, await readText(t.file), name);
      for (const note of s.notes) print(`note: ${name}: ${note}`);
      streams.push({ domain: t.domain, tokens: s.tokens, documentStarts: s.documentStarts });
    }
    const log = await collectRoutingLog(model, streams, {
      maxTokensPerDomain: maxTokens,
      moe,
      onProgress: f.json ? undefined : ({ done, total }) => process.stderr.write(`\rwindow ${done}/${total}`),
    });
    if (!f.json) process.stderr.write('\n');
    log.source = source;
    const out = f['routing-out'] as string | undefined;
    let written: string[] = [];
    if (out) {
      const parts = routingLogToParquet(log, Number.isFinite(splitRows) ? { maxRowsPerFile: splitRows } : {});
      written =
        parts.length === 1
          ? [out]
          : parts.map((_, i) => out.replace(/(\.parquet)?$/, `-${String(i).padStart(5, '0')}.parquet`));
      await Promise.all(parts.map((p, i) => writeFile(written[i]!, p)));
      if (!f.json) print(`routing log: ${written.join(', ')}`);
    }
    return {
      log,
      header: {
        model: source,
        architecture: info.architecture,
        hf_architecture: info.hfArchitecture,
        backend: backend.kind,
        ...(moe ? { interventions: moe } : {}),
        ...(written.length ? { routing_out: written } : {}),
      },
    };
  } finally {
    model.dispose();
    backend.destroy();
  }
}

function microBatchFlag(value: string | undefined): MicroBatchScope {
  if (value === undefined || value === 'document') return { by: 'document' };
  const n = Number(value);
  if (!(Number.isInteger(n) && n >= 1)) {
    throw new UsageError(`--micro-batch must be "document" or a number of tokens, got '${value}'`);
  }
  return { by: 'tokens', n };
}

function printReadable(s: MoeLogReport, header: string, print: (line: string) => void): void {
  const pct = (x: number) => `${(100 * x).toFixed(1)}`.padStart(5);
  const num = (x: number | null, d = 3) => (x === null ? '–' : x.toFixed(d));
  const width = Math.max(6, ...s.domains.map((d) => d.name.length));
  print(header);
  print(
    `experts ${s.nExperts}, top-${s.topK}; ${s.tokens} tokens in ${s.documents} documents: ${s.domains.map((d) => `${d.name} ${d.tokens}`).join(', ')}`,
  );
  print(`entropies in nats (uniform = log ${s.nExperts} = ${s.maxEntropy.toFixed(3)})`);
  s.layers.forEach((l, i) => {
    const x = s.log_layers[i]!;
    print('');
    print(
      `layer ${x.layer}: specialisation ${l.specialisation.toFixed(4)}  router entropy ${l.routerEntropy.toFixed(3)}  load entropy ${l.loadEntropy.toFixed(3)}  top-k mass ${num(x.top_k_mass)}  LBL micro ${num(x.lbl_micro)} global ${num(x.lbl_global)}`,
    );
    const experts = Array.from({ length: s.nExperts }, (_, e) => `e${e}`.padStart(5)).join(' ');
    print(`  ${'%'.padEnd(width)} ${experts}`);
    print(`  ${'load'.padEnd(width)} ${l.load.map(pct).join(' ')}`);
    for (const d of s.domains) print(`  ${d.name.padEnd(width)} ${l.usage[d.name]!.map(pct).join(' ')}`);
    print(
      `  ${'KL'.padEnd(width)} ${l.expertKl.map((k) => (k === null ? '    –' : k.toFixed(2).padStart(5))).join(' ')}`,
    );
    for (const p of x.push ?? []) {
      const fmt = (v: number[]) => v.map((n) => n.toFixed(2).padStart(5)).join(' ');
      print(`  ${`push ${p.domain}`.padEnd(width)} micro ${fmt(p.micro)}`);
      print(`  ${''.padEnd(width)} global ${fmt(p.global)}`);
    }
    print(
      `  vocabulary specialisation ${x.vocabulary.score.toFixed(3)} (uniform ${x.vocabulary.uniform.toFixed(3)}); TLS ${x.tls.toFixed(3)}, CLS ${x.cls.map((c) => `L=${c.chunk} ${c.cls.toFixed(3)}`).join(', ')}`,
    );
  });
  print('');
  for (const c of s.cross_layer) {
    print(
      `layers ${c.layer}→${c.layer + 1}: first choice predictable ${pct(c.predictability)} % (baseline ${pct(c.baseline)} %), NMI ${c.normalisedMutualInformation.toFixed(3)}`,
    );
  }
  print(
    `specialisation (mean over layers) ${s.specialisation.toFixed(4)} nats; LBL (${s.micro_batch}) micro ${num(s.lbl_micro)}, global ${num(s.lbl_global)}`,
  );
}
