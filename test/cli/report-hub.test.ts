/**
 * `sparsebook report` on a notebook that opens its model and a pretrained SAE from the Hugging Face
 * hub (in-process, CPU backend), through the local hub stand-in (HF_ENDPOINT) with a gated
 * repository (HF_TOKEN) and the CLI's cache (SPARSEBOOK_CACHE): the report holds the hub model's
 * loss (the local folder's), the SAE's exact evaluation and its browsed features; a second run
 * downloads no weights; the token is in neither the report nor the log; without the token the
 * failing cells are named.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { KNOWN_KINDS } from '../../app/cells/kinds';
import { modelKind } from '../../app/cells/model/model-kind';
import { saeFeaturesKind } from '../../app/cells/sae-features/sae-features-kind';
import { saeKind } from '../../app/cells/sae/sae-kind';
import { decodeReport } from '../../app/report/report-data';
import { reportBytesFromHtml } from '../../app/report/report-html';
import { reportCommand, type ReportSummary } from '../../cli/commands/report';
import { reportShell } from '../../cli/report-shell-cache';
import { createCpuBackend } from '../../kernels/cpu-backend';
import type { SaeSummary } from '../../workers/sae-jobs';
import { activationsAt, exactSae, saeLensFolder } from '../analyses/sae/exact-saes';
import { archFolder, loadArchFolder } from '../helpers/arch-folders';
import { startHubServer, type HubServer } from '../helpers/hub-server';

const work = mkdtempSync(path.join(tmpdir(), 'sparsebook-report-hub-'));
const TOKEN = 'hf_report_secret_token_1618033';
const HOOK = 'blocks.0.hook_resid_post';
const TEXT = [
  'Once upon a time, a fox met a crow in the old wood.',
  'The crow had a piece of cheese; the fox wanted it very much.',
  'So the fox sat down under the tree and began to talk.',
].join('<|endoftext|>');
const SAE_ID = 'hf:gated/saes/blocks.0.hook_resid_post';

let hub: HubServer;
let l0: number;
const saved = { ...process.env };

const notebook = {
  format: 'sparsebook-notebook',
  version: 2,
  title: 'Hub report',
  cells: [
    {
      id: 'model',
      kind: 'model',
      params: { ...modelKind.defaults(), source: 'hub', hubId: 'hf:gated/gpt2' },
      inputs: {},
    },
    { id: 'text', kind: 'text', params: { name: 'fable', text: TEXT }, inputs: {} },
    { id: 'loss', kind: 'loss', params: {}, inputs: { model: 'model', text: 'text' } },
    {
      id: 'sae',
      kind: 'sae',
      params: { ...saeKind.defaults(), source: 'hub', hubSae: SAE_ID, evalWindows: 2 },
      inputs: { model: 'model', text: 'text' },
    },
    {
      id: 'features',
      kind: 'sae-features',
      params: { ...saeFeaturesKind.defaults(), maxWindows: 2 },
      inputs: { sae: 'sae', text: 'text' },
    },
  ],
};
const notebookFile = path.join(work, 'hub.sparsebook.json');
writeFileSync(notebookFile, JSON.stringify(notebook, null, 2));

beforeAll(async () => {
  const { model, tokenizer } = loadArchFolder(createCpuBackend(), 'gpt2');
  const { x, d } = await activationsAt(model, tokenizer, TEXT, HOOK);
  const exact = exactSae(x, d, { construction: 'pairs', applyBDec: true });
  l0 = exact.l0;
  const saes = path.join(work, 'saes', 'blocks.0.hook_resid_post');
  mkdirSync(saes, { recursive: true });
  for (const [f, b] of Object.entries(saeLensFolder(exact, { hook_name: HOOK }))) {
    writeFileSync(path.join(saes, f), b);
  }
  hub = await startHubServer();
  hub.add('gated/gpt2', { dir: archFolder('gpt2'), token: TOKEN });
  hub.add('gated/saes', { dir: path.join(work, 'saes'), token: TOKEN });
  await reportShell();
}, 120_000);
afterEach(() => {
  for (const k of ['HF_ENDPOINT', 'HF_TOKEN', 'SPARSEBOOK_CACHE']) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});
afterAll(async () => {
  await hub.close();
  rmSync(work, { recursive: true, force: true });
});

/** Run the command with the hub's environment; what it wrote to stderr comes back too. */
async function report(env: Record<string, string>, ...argv: string[]) {
  Object.assign(process.env, { HF_ENDPOINT: hub.endpoint, ...env });
  const lines: string[] = [];
  const log: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array) => {
    log.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  try {
    const error = await reportCommand(argv, (l) => lines.push(l)).then(
      () => undefined,
      (e: Error) => e,
    );
    return { summary: JSON.parse(lines.at(-1) ?? 'null') as ReportSummary | null, log: log.join(''), error };
  } finally {
    process.stderr.write = write;
  }
}

const decode = (file: string) =>
  decodeReport(reportBytesFromHtml(readFileSync(file, 'utf8')), { knownKinds: KNOWN_KINDS });

describe('sparsebook report with hub sources', () => {
  it('loads the model and the SAE through the stand-in and the cache; the token stays out', async () => {
    const cache = path.join(work, 'cache');
    const out = path.join(work, 'hub.html');
    const r = await report(
      { HF_TOKEN: TOKEN, SPARSEBOOK_CACHE: cache },
      '--notebook',
      notebookFile,
      '--out',
      out,
      '--json',
    );
    expect(r.error).toBeUndefined();
    expect(r.summary!.cells.map((c) => [c.id, c.status])).toEqual([
      ['model', 'done'],
      ['text', 'done'],
      ['loss', 'done'],
      ['sae', 'done'],
      ['features', 'done'],
    ]);
    const data = decode(out);
    // The notebook keeps the ids; the SAE is exact on the hub model.
    expect(data.doc.cells.find((c) => c.id === 'model')!.params.hubId).toBe('hf:gated/gpt2');
    const sae = data.cells.get('sae')!.result.meta as unknown as SaeSummary;
    expect(sae.evaluation!.explained_variance).toBeCloseTo(1, 5);
    expect(sae.evaluation!.l0).toBe(l0);
    expect(sae.evaluation!.loss_recovered).toBeCloseTo(1, 4);
    expect(sae.hub).toMatchObject({ id: SAE_ID, format: 'saelens' });
    expect(data.cells.get('features')!.result.tables.list!.byteLength).toBeGreaterThan(0);
    // Weights came by Range requests into the CLI cache.
    expect(hub.log.some((q) => q.file === 'model.safetensors' && q.status === 206)).toBe(true);
    const cached = readdirSync(cache, { recursive: true }) as string[];
    expect(cached).toContain(path.join('hub', 'gated', 'gpt2', 'main', 'model.safetensors'));
    expect(cached).toContain(
      path.join('hub', 'gated', 'saes', 'main', 'blocks.0.hook_resid_post', 'sae_weights.safetensors'),
    );
    expect(cached.filter((f) => f.endsWith('.partial'))).toEqual([]);
    // The token: in no file of the report, the cache or the log.
    expect(readFileSync(out, 'utf8')).not.toContain(TOKEN);
    expect(r.log).not.toContain(TOKEN);
    for (const f of cached) {
      const p = path.join(cache, f);
      if (f.endsWith('.etag') || f.endsWith('.json')) expect(readFileSync(p, 'utf8')).not.toContain(TOKEN);
    }

    // The same loss as the model's folder on disk.
    const local = path.join(work, 'local.html');
    const l = await report(
      { HF_TOKEN: TOKEN, SPARSEBOOK_CACHE: cache },
      '--notebook',
      notebookFile,
      '--model',
      archFolder('gpt2'),
      '--out',
      local,
      '--json',
    );
    expect(l.error).toBeUndefined();
    const lossOf = (file: string) => (decode(file).cells.get('loss')!.result.meta as { loss: number }).loss;
    expect(lossOf(out)).toBeCloseTo(lossOf(local), 6);

    // A second run downloads no weights: ETag checks only.
    hub.log.length = 0;
    const again = await report(
      { HF_TOKEN: TOKEN, SPARSEBOOK_CACHE: cache },
      '--notebook',
      notebookFile,
      '--out',
      out,
      '--json',
    );
    expect(again.error).toBeUndefined();
    expect(hub.log.filter((q) => q.method === 'GET')).toEqual([]);
    expect(hub.log.length).toBeGreaterThan(0);
  }, 300_000);

  it('without the token, the cells reading the gated repositories fail, named, and the report is written', async () => {
    const out = path.join(work, 'refused.html');
    const r = await report(
      { SPARSEBOOK_CACHE: path.join(work, 'cache-2') },
      '--notebook',
      notebookFile,
      '--out',
      out,
      '--json',
    );
    expect(r.error?.message).toMatch(
      /cell "model" \(model\) failed: .*HTTP 401: the model is gated or private/,
    );
    expect(r.summary!.cells.find((c) => c.id === 'model')!.status).toBe('error');
    expect(readFileSync(out, 'utf8')).toContain('<title>Hub report · Sparsebook report</title>');
  }, 120_000);
});
