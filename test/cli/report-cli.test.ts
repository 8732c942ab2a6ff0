/**
 * `sparsebook report` in-process (the command function, CPU backend): a small notebook runs
 * headless into the same self-contained HTML the app exports, whose data decodes to the notebook
 * with a result for every runnable cell and CLI provenance; --model swaps in the files given;
 * a bad notebook or a missing model file is an error naming it. The shell is built at most once
 * (cli/report-shell-cache.ts), warmed in beforeAll.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { kindOf, KNOWN_KINDS } from '../../app/cells/kinds';
import { parseNotebookFile } from '../../app/notebook/notebook-file';
import { decodeReport } from '../../app/report/report-data';
import { reportBytesFromHtml } from '../../app/report/report-html';
import { reportCommand, type ReportSummary } from '../../cli/commands/report';
import { reportShell } from '../../cli/report-shell-cache';

const root = path.resolve(import.meta.dirname, '../..');
const dense = path.join(root, 'public/models/sparsebook-dense');
const dir = mkdtempSync(path.join(tmpdir(), 'sparsebook-report-'));

const notebook = {
  format: 'sparsebook-notebook',
  version: 2,
  title: 'Report from the CLI',
  cells: [
    { id: 'intro', kind: 'markdown', params: { source: '# A small notebook' }, inputs: {} },
    {
      id: 'model',
      kind: 'model',
      params: { source: 'bundled', bundled: 'sparsebook-dense', modelUrl: '', tokenizerUrl: '', files: [] },
      inputs: {},
    },
    {
      id: 'text',
      kind: 'text',
      params: { name: 'short', text: 'Call me Ishmael. Some years ago, never mind how long precisely.' },
      inputs: {},
    },
    { id: 'loss', kind: 'loss', params: {}, inputs: { model: 'model', text: 'text' } },
  ],
};
const notebookFile = path.join(dir, 'small.sparsebook.json');
writeFileSync(notebookFile, JSON.stringify(notebook, null, 2));

async function report(...argv: string[]) {
  const lines: string[] = [];
  await reportCommand(argv, (l) => lines.push(l));
  return JSON.parse(lines.at(-1)!) as ReportSummary;
}

function decode(file: string) {
  const html = readFileSync(file, 'utf8');
  return { html, data: decodeReport(reportBytesFromHtml(html), { knownKinds: KNOWN_KINDS }) };
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

describe('sparsebook report', () => {
  beforeAll(() => reportShell().then(() => undefined), 120_000);

  it('runs a notebook headless into a report that decodes to it, with CLI provenance', async () => {
    const out = path.join(dir, 'small.html');
    const summary = await report('--notebook', notebookFile, '--out', out, '--json');
    expect(summary.missing).toEqual([]);
    expect(summary.backend).toBe('cpu');
    expect(summary.cells.map((c) => c.status)).toEqual(['done', 'done', 'done', 'done']);
    const { html, data } = decode(out);
    expect(summary.bytes).toBe(Buffer.byteLength(html));
    expect(html).toContain('<meta http-equiv="Content-Security-Policy"');
    expect(html).toContain('<title>Report from the CLI · Sparsebook report</title>');
    expect(data.doc).toEqual(
      parseNotebookFile(readFileSync(notebookFile, 'utf8'), notebookFile, { knownKinds: KNOWN_KINDS }),
    );
    const runnable = notebook.cells.filter((c) => kindOf(c.kind)?.run).map((c) => c.id);
    expect([...data.cells.keys()].sort()).toEqual(runnable.sort());
    expect(data.provenance.producer).toBe('cli');
    expect(data.provenance.backend.kind).toBe('cpu');
    expect(data.provenance.models).toHaveLength(1);
    expect(data.provenance.models[0]!.modelHash).toBe(sha256(path.join(dense, 'model.safetensors')));
    const loss = data.cells.get('loss')!.result.meta as { loss: number; targets: number };
    expect(loss.targets).toBeGreaterThan(0);
    expect(Number.isFinite(loss.loss)).toBe(true);
  });

  it('--model loads every model cell from the files given', async () => {
    const out = path.join(dir, 'files.html');
    const summary = await report('--notebook', notebookFile, '--model', dense, '--out', out, '--json');
    expect(summary.missing).toEqual([]);
    const { data } = decode(out);
    const params = data.doc.cells.find((c) => c.id === 'model')!.params;
    expect(params.source).toBe('files');
    expect(params.files).toContainEqual({
      name: 'model.safetensors',
      hash: sha256(path.join(dense, 'model.safetensors')),
      size: readFileSync(path.join(dense, 'model.safetensors')).byteLength,
    });
    expect(data.provenance.models[0]!.modelHash).toBe(sha256(path.join(dense, 'model.safetensors')));
    // The same weights as the bundled run: the same loss.
    const bundled = decode(path.join(dir, 'small.html')).data.cells.get('loss')!.result.meta as {
      loss: number;
    };
    expect((data.cells.get('loss')!.result.meta as { loss: number }).loss).toBeCloseTo(bundled.loss, 6);
  });

  it('names a notebook file that is not a notebook', async () => {
    const bad = path.join(dir, 'bad.sparsebook.json');
    writeFileSync(bad, '{"format": "sparsebook-notebook", ');
    await expect(report('--notebook', bad, '--out', path.join(dir, 'bad.html'))).rejects.toThrow(bad);
  });

  it('names a --model file that does not exist', async () => {
    const missing = path.join(dir, 'no-such-model.bin');
    await expect(
      report(
        '--notebook',
        notebookFile,
        '--model',
        missing,
        '--tokenizer',
        path.join(dense, 'tokenizer.bin'),
        '--out',
        path.join(dir, 'x.html'),
      ),
    ).rejects.toThrow(missing);
  });
});
