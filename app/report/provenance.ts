/**
 * Where a report's numbers came from: the models (name and SHA-256 of the weights), tokenizers,
 * texts (name and SHA-256), the backend and adapter, the Sparsebook version, the date, and every
 * cell's parameters. Built from the notebook and its results, so the app and the CLI agree.
 */
import type { CellResult } from '../notebook/cell-runtime';
import type { NotebookDoc, ParamValue } from '../notebook/document';
import { hashBytes } from '../notebook/hash';
import { SPARSEBOOK_VERSION } from '../version';

export interface ModelProvenance {
  cellId: string;
  model: string;
  /** SHA-256 of the weights file (absent for results computed before hashes were recorded). */
  modelHash?: string;
  tokenizer: string;
  tokenizerHash?: string;
}

export interface TextProvenance {
  cellId: string;
  name: string;
  characters: number;
  /** SHA-256 of the text's UTF-8 bytes. */
  hash: string;
}

export interface ReportProvenance {
  sparsebookVersion: string;
  /** ISO 8601. */
  createdAt: string;
  /** `cpu` or `webgpu`, and the adapter's description. */
  backend: { kind: string; description: string };
  /** What made the report: the app (`app`) or the command line (`cli`). */
  producer: 'app' | 'cli';
  models: ModelProvenance[];
  texts: TextProvenance[];
  cells: { id: string; kind: string; params: Record<string, ParamValue>; inputs: Record<string, string> }[];
}

/**
 * @example
 * const provenance = await buildProvenance(doc, results, { kind: 'cpu', description: 'CPU (JS)' }, 'app');
 */
export async function buildProvenance(
  doc: NotebookDoc,
  results: Record<string, CellResult | undefined>,
  backend: { kind: string; description: string },
  producer: ReportProvenance['producer'],
  now: Date = new Date(),
): Promise<ReportProvenance> {
  const models: ModelProvenance[] = [];
  const texts: TextProvenance[] = [];
  for (const cell of doc.cells) {
    if (cell.kind === 'model') {
      const meta = (results[cell.id]?.meta ?? {}) as Record<string, unknown>;
      models.push({
        cellId: cell.id,
        model: String(meta.modelName ?? describeSource(cell.params)),
        ...(typeof meta.modelHash === 'string' ? { modelHash: meta.modelHash } : {}),
        tokenizer: String(meta.tokenizerName ?? ''),
        ...(typeof meta.tokenizerHash === 'string' ? { tokenizerHash: meta.tokenizerHash } : {}),
      });
    } else if (cell.kind === 'text') {
      const text = String(cell.params.text ?? '');
      texts.push({
        cellId: cell.id,
        name: String(cell.params.name || 'text'),
        characters: text.length,
        hash: await hashBytes(new TextEncoder().encode(text)),
      });
    }
  }
  return {
    sparsebookVersion: SPARSEBOOK_VERSION,
    createdAt: now.toISOString(),
    backend: { kind: backend.kind, description: backend.description },
    producer,
    models,
    texts,
    cells: doc.cells.map((c) => ({ id: c.id, kind: c.kind, params: c.params, inputs: c.inputs })),
  };
}

function describeSource(p: Record<string, ParamValue>): string {
  if (p.source === 'bundled') return String(p.bundled);
  if (p.source === 'url') return String(p.modelUrl);
  return 'picked files';
}

/**
 * A cell's params as one line for the provenance table: long strings (a text cell's text, a
 * markdown source) become their length, since the hashes above identify them.
 */
export function paramsLine(params: Record<string, ParamValue>, maxString = 120): string {
  return JSON.stringify(params, (_key, value: unknown) =>
    typeof value === 'string' && value.length > maxString
      ? `…(${value.length.toLocaleString('en-US')} characters)`
      : value,
  );
}
