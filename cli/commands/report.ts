import { readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { kindOf, KNOWN_KINDS } from '../../app/cells/kinds';
import type { PickedFile } from '../../app/cells/model/model-kind';
import type { NotebookDoc } from '../../app/notebook/document';
import { hashBytes } from '../../app/notebook/hash';
import { parseNotebookFile } from '../../app/notebook/notebook-file';
import { buildProvenance } from '../../app/report/provenance';
import { collectReportCells, encodeReport } from '../../app/report/report-data';
import { reportHtml } from '../../app/report/report-html';
import { modelPlanFiles, planModelFiles } from '../../runtime';
import { backendFlag, parseFlags, required, UsageError } from '../args';
import { DEFAULT_HF_ENDPOINT } from '../../runtime/sources/hub-id';
import { runNotebook } from '../headless-notebook';
import { cacheRoot } from '../hub-cache';
import { nodeHubCache } from '../node-hub-cache';
import { reportShell } from '../report-shell-cache';
import { readBytes, readText } from '../session';

export const REPORT_USAGE = `sparsebook report --notebook N.sparsebook.json [--model DIR|M [--tokenizer T]] [--backend cpu|webgpu] --out report.html [--json]

Run every cell of a notebook headless and write the self-contained HTML report the app's
"Export report" writes (provenance says it was made by the CLI). Progress goes to stderr; a cell
that fails is named and makes the exit status non-zero, after the report is written.

--model DIR   load every model cell from this folder (config.json + model.safetensors +
              tokenizer.json [+ tokenizer_config.json], or tokenizer.bin) instead of what the
              notebook names
--model M     a llama2.c checkpoint, with --tokenizer T
              Without --model, bundled models load from public/models, and models and SAEs
              that the notebook opens from the Hugging Face hub load through HF_ENDPOINT
              (default https://huggingface.co) into the cache SPARSEBOOK_CACHE (default
              ~/.cache/sparsebook), with HF_TOKEN for gated repositories (a request header
              only: never in the report or the log). Nothing else is downloaded.
--json        last stdout line: {out, bytes, cells, missing, backend, seconds}`;

/** One or more cells ended in `error` (the report was written anyway). */
export class CellFailedError extends Error {
  override name = 'CellFailedError';
}

export interface ReportSummary {
  out: string;
  bytes: number;
  cells: { id: string; kind: string; status: string; ms: number }[];
  missing: string[];
  backend: string;
  seconds: number;
}

export async function reportCommand(argv: string[], print: (line: string) => void): Promise<void> {
  const f = parseFlags(
    argv,
    {
      notebook: { type: 'string' },
      model: { type: 'string' },
      tokenizer: { type: 'string' },
      backend: { type: 'string' },
      out: { type: 'string' },
      json: { type: 'boolean' },
    },
    REPORT_USAGE,
  );
  const backendKind = backendFlag(f.backend);
  const notebookFile = required(f.notebook, 'notebook', REPORT_USAGE);
  const out = required(f.out, 'out', REPORT_USAGE);
  if (f.tokenizer !== undefined && f.model === undefined)
    throw new UsageError(`--tokenizer needs --model\n\n${REPORT_USAGE}`);
  const t0 = performance.now();
  let doc = parseNotebookFile(await readText(notebookFile), notebookFile, { knownKinds: KNOWN_KINDS });
  const blobs = new Map<string, Uint8Array>();
  if (f.model !== undefined) {
    const picked = await pickModelFiles(f.model, f.tokenizer);
    for (const p of picked) blobs.set(p.hash, p.bytes);
    doc = withModelFiles(
      doc,
      picked.map(({ name, hash, size }) => ({ name, hash, size })),
    );
  } else {
    const needs = doc.cells.find((c) => c.kind === 'model' && c.params.source === 'files');
    if (needs)
      throw new UsageError(
        `model cell "${needs.id}" loads files picked in the browser; pass them with --model (and --tokenizer)`,
      );
  }
  // Started now so the vite build (when the shell is stale) overlaps the run; awaited after it.
  const shell = reportShell();
  shell.catch(() => undefined);

  const index = new Map(doc.cells.map((c, i) => [c.id, i + 1]));
  const n = doc.cells.length;
  const last = new Map<string, string>();
  const run = await runNotebook(doc, {
    backend: backendKind,
    blobs,
    hub: {
      endpoint: process.env.HF_ENDPOINT || DEFAULT_HF_ENDPOINT,
      token: process.env.HF_TOKEN ?? '',
      cache: nodeHubCache(cacheRoot()),
    },
    onChange: (id, rt) => {
      // Only changes of status: progress updates would flood stderr.
      if (last.get(id) === rt.status) return;
      last.set(id, rt.status);
      const cell = doc.cells[index.get(id)! - 1]!;
      if (!kindOf(cell.kind)?.run || rt.status === 'queued') return;
      const what =
        rt.status === 'done'
          ? `done in ${seconds(rt.elapsedMs)}`
          : rt.status === 'error'
            ? `error after ${seconds(rt.elapsedMs)}: ${rt.error?.title}: ${rt.error?.message}`
            : rt.note
              ? `${rt.status} (${rt.note})`
              : rt.status;
      process.stderr.write(`cell ${index.get(id)}/${n} ${cell.kind} ${id}: ${what}\n`);
    },
  });

  // Maps by cell id: an id such as `constructor` or `__proto__` is an ordinary id.
  const { cells, results, missing } = collectReportCells(
    doc,
    (id) => run.runtime(id),
    (kind) => !!kindOf(kind)?.run,
  );
  const provenance = await buildProvenance(doc, results, run.backend, 'cli');
  const html = reportHtml((await shell).html, encodeReport({ doc, cells, provenance }), doc.title);
  await writeFile(out, html);
  const bytes = Buffer.byteLength(html);

  const summary: ReportSummary = {
    out,
    bytes,
    cells: doc.cells.map((c) => {
      const rt = run.runtime(c.id);
      return { id: c.id, kind: c.kind, status: rt.status, ms: Math.round(rt.elapsedMs ?? 0) };
    }),
    missing,
    backend: run.backend.kind,
    seconds: (performance.now() - t0) / 1000,
  };
  if (f.json) print(JSON.stringify(summary));
  else {
    print(`report   ${out} (${(bytes / 1e6).toFixed(2)} MB)`);
    print(`backend  ${run.backend.description}`);
    print(`cells    ${doc.cells.length - missing.length}/${doc.cells.length} with a result`);
    if (missing.length) print(`missing  ${missing.join(', ')}`);
    print(`seconds  ${summary.seconds.toFixed(2)}`);
  }
  const failed = doc.cells.filter((c) => run.runtime(c.id).status === 'error');
  if (failed.length) {
    throw new CellFailedError(
      failed
        .map((c) => {
          const e = run.runtime(c.id).error;
          return `cell "${c.id}" (${c.kind}) failed: ${e?.title}: ${e?.message}`;
        })
        .join('; ') + ` (the report ${out} was written without ${failed.length > 1 ? 'them' : 'it'})`,
    );
  }
}

interface Picked extends PickedFile {
  bytes: Uint8Array;
}

/** The files of --model (a folder or a checkpoint) and --tokenizer, read and hashed. */
async function pickModelFiles(model: string, tokenizer: string | undefined): Promise<Picked[]> {
  const kind = await stat(model).then(
    (s) => (s.isDirectory() ? 'dir' : 'file'),
    (e: NodeJS.ErrnoException) => e.code ?? 'unreadable',
  );
  if (kind !== 'dir' && kind !== 'file')
    throw new Error(`${model}: cannot read model file or folder (${kind})`);
  let files: string[];
  if (kind === 'dir') {
    if (tokenizer !== undefined)
      throw new UsageError(`--tokenizer is only for a checkpoint file; the folder ${model} brings its own`);
    const names = (await readdir(model, { withFileTypes: true }))
      .filter((e) => e.isFile())
      .map((e) => e.name);
    const plan = planModelFiles(names, path.basename(path.resolve(model)));
    files = modelPlanFiles(plan).map((name) => path.join(model, name));
  } else {
    if (tokenizer === undefined)
      throw new UsageError(
        `missing --tokenizer (needed with the checkpoint file ${model}; or pass a model folder)`,
      );
    files = [model, tokenizer];
  }
  return Promise.all(
    files.map(async (file) => {
      const bytes = new Uint8Array(await readBytes(file));
      return { name: path.basename(file), hash: await hashBytes(bytes), size: bytes.byteLength, bytes };
    }),
  );
}

/** Every model cell loads `files` (the same rewrite picking files in the app makes). */
function withModelFiles(doc: NotebookDoc, files: PickedFile[]): NotebookDoc {
  return {
    ...doc,
    cells: doc.cells.map((c) =>
      c.kind === 'model'
        ? { ...c, params: { ...c.params, source: 'files', files: files.map((p) => ({ ...p })) } }
        : c,
    ),
  };
}

function seconds(ms: number | undefined): string {
  return ms === undefined ? '?' : `${(ms / 1000).toFixed(2)} s`;
}
