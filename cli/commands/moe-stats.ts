import path from 'node:path';
import { moeStats, type MoeStatsSummary } from '../../analyses/moe';
import { buildTokenStream } from '../../runtime';
import { backendFlag, numberFlag, parseFlags, required, UsageError } from '../args';
import { loadModel, readText } from '../session';

export const MOE_STATS_USAGE = `sparsebook moe-stats --model DIR|M [--tokenizer T] --text [DOMAIN=]F [--text …] [--max-tokens N] [--backend cpu|webgpu] [--json]

Routing statistics of a mixture-of-experts model over texts from several domains: per layer, the
expert load (share of token→expert assignments), the router entropy (mean per-token entropy of the
router probabilities, and the entropy of the load), the specialisation score (mean over experts of
KL(expert's domain distribution ‖ corpus's), in nats) and the domain × expert usage.

Each --text is one domain; its name is DOMAIN= when given, else the file name without extension
and without a "valid-" prefix (valid-code.txt → code). --max-tokens routes only the first N tokens
of each text. With --json, one JSON object is printed as the last line.`;

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
      backend: { type: 'string' },
      json: { type: 'boolean' },
    },
    MOE_STATS_USAGE,
  );
  const backendKind = backendFlag(f.backend);
  const modelArg = required(f.model, 'model', MOE_STATS_USAGE);
  if (!f.text?.length) throw new UsageError(`missing --text\n\n${MOE_STATS_USAGE}`);
  const texts = f.text.map(parseTextArg);
  const maxTokens = numberFlag(f['max-tokens'], 'max-tokens', Infinity);
  if (!(maxTokens >= 1)) throw new UsageError(`--max-tokens must be at least 1, got ${f['max-tokens']}`);

  const { backend, model, tokenizer, info, source } = await loadModel(backendKind, modelArg, f.tokenizer);
  try {
    const streams = [];
    for (const t of texts) {
      const name = path.basename(t.file);
      const s = buildTokenStream(tokenizer, await readText(t.file), name);
      for (const note of s.notes) print(`note: ${name}: ${note}`);
      streams.push({ domain: t.domain, tokens: s.tokens });
    }
    const t0 = performance.now();
    const r = await moeStats(model, streams, {
      maxTokensPerDomain: maxTokens,
      onProgress: f.json ? undefined : ({ done, total }) => process.stderr.write(`\rwindow ${done}/${total}`),
    });
    const seconds = (performance.now() - t0) / 1000;
    if (!f.json) process.stderr.write('\n');
    const out = {
      model: source,
      architecture: info.architecture,
      hf_architecture: info.hfArchitecture,
      backend: backend.kind,
      seconds,
      ...r.summary,
    };
    if (f.json) print(JSON.stringify(out));
    else printReadable(r.summary, `${source} on ${backend.description}, ${seconds.toFixed(2)} s`, print);
  } finally {
    model.dispose();
    backend.destroy();
  }
}

function printReadable(s: MoeStatsSummary, header: string, print: (line: string) => void): void {
  const pct = (x: number) => `${(100 * x).toFixed(1)}`.padStart(5);
  const width = Math.max(6, ...s.domains.map((d) => d.name.length));
  print(header);
  print(
    `experts ${s.nExperts}, top-${s.topK}; tokens ${s.domains.map((d) => `${d.name} ${d.tokens}`).join(', ')}`,
  );
  print(`entropies in nats (uniform = log ${s.nExperts} = ${s.maxEntropy.toFixed(3)})`);
  for (const l of s.layers) {
    print('');
    print(
      `layer ${l.layer}: specialisation ${l.specialisation.toFixed(4)}  router entropy ${l.routerEntropy.toFixed(3)}  load entropy ${l.loadEntropy.toFixed(3)}`,
    );
    const experts = Array.from({ length: s.nExperts }, (_, e) => `e${e}`.padStart(5)).join(' ');
    print(`  ${'%'.padEnd(width)} ${experts}`);
    print(`  ${'load'.padEnd(width)} ${l.load.map(pct).join(' ')}`);
    for (const d of s.domains) print(`  ${d.name.padEnd(width)} ${l.usage[d.name]!.map(pct).join(' ')}`);
    print(
      `  ${'KL'.padEnd(width)} ${l.expertKl.map((k) => (k === null ? '    –' : k.toFixed(2).padStart(5))).join(' ')}`,
    );
  }
  print('');
  print(`specialisation (mean over layers) ${s.specialisation.toFixed(4)} nats`);
}
