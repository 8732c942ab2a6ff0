/**
 * Where a report's numbers came from: the models (name and SHA-256 of the weights), tokenizers,
 * texts (name and SHA-256), the backend and adapter, the Sparsebook version, the date, and every
 * cell's parameters. Built from the notebook and its results, so the app and the CLI agree.
 */
import type { CellResult } from '../notebook/cell-runtime';
import type { NotebookDoc, ParamValue } from '../notebook/document';
import { hashBytes } from '../notebook/hash';
import { isPlainObject, jsonCopier } from '../notebook/json-copy';
import { NOTEBOOK_LIMITS } from '../notebook/schema';
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
 * const provenance = await buildProvenance(doc, new Map([['c1', result]]), { kind: 'cpu', description: 'CPU (JS)' }, 'app');
 */
export async function buildProvenance(
  doc: NotebookDoc,
  /** Each computed cell's result, by cell id (a Map: ids such as `constructor` are ordinary ids). */
  results: ReadonlyMap<string, CellResult>,
  backend: { kind: string; description: string },
  producer: ReportProvenance['producer'],
  now: Date = new Date(),
): Promise<ReportProvenance> {
  const models: ModelProvenance[] = [];
  const texts: TextProvenance[] = [];
  for (const cell of doc.cells) {
    if (cell.kind === 'model') {
      const meta = (results.get(cell.id)?.meta ?? {}) as Record<string, unknown>;
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
  if (p.source === 'hub') return String(p.hubId);
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

/**
 * Check that `value` (from a report's header: untrusted) is a provenance block the report page can
 * show, and return a fresh copy holding only its known fields. `fail` throws; it gets the problem
 * (e.g. `provenance is missing or not an object (got null)`). Lists hold at most the notebook's
 * cell limit, and the ids the page keys its lists by are unique.
 *
 * @example
 * const provenance = validateProvenance(header.provenance, (p) => { throw new NotebookError('report', p); });
 */
export function validateProvenance(value: unknown, fail: (problem: string) => never): ReportProvenance {
  const bad = (what: string): never => fail(`provenance ${what}`);
  const copy = jsonCopier(NOTEBOOK_LIMITS, { bytes: 0 });
  const str = (v: unknown, what: string): string => {
    if (typeof v !== 'string') return bad(`${what} is not a string (got ${describe(v)})`);
    return copy(v, (problem) => bad(`${what} ${problem}`)) as string;
  };
  const optStr = (v: unknown, what: string): string | undefined =>
    v === undefined ? undefined : str(v, what);
  const obj = (v: unknown, what: string): Record<string, unknown> =>
    isPlainObject(v) ? v : bad(`${what} is missing or not an object (got ${describe(v)})`);
  const list = <T>(v: unknown, what: string, item: (x: Record<string, unknown>, at: string) => T): T[] => {
    if (!Array.isArray(v)) return bad(`${what} is not a list (got ${describe(v)})`);
    if (v.length > NOTEBOOK_LIMITS.maxCells)
      return bad(`${what} has more than ${NOTEBOOK_LIMITS.maxCells} entries`);
    return v.map((x, i) => item(obj(x, `${what}[${i}]`), `${what}[${i}]`));
  };
  const unique = (ids: string[], what: string) => {
    const seen = new Set<string>();
    for (const id of ids) {
      if (seen.has(id)) bad(`${what} lists cell ${JSON.stringify(id.slice(0, 64))} twice`);
      seen.add(id);
    }
  };

  if (!isPlainObject(value)) bad(`is missing or not an object (got ${describe(value)})`);
  const p = value as Record<string, unknown>;
  const createdAt = str(p.createdAt, 'createdAt');
  if (Number.isNaN(Date.parse(createdAt))) bad('createdAt is not a date');
  const backend = obj(p.backend, 'backend');
  if (p.producer !== 'app' && p.producer !== 'cli') bad('producer is neither "app" nor "cli"');
  const models = list(p.models, 'models', (m, at) => {
    const modelHash = optStr(m.modelHash, `${at}.modelHash`);
    const tokenizerHash = optStr(m.tokenizerHash, `${at}.tokenizerHash`);
    return {
      cellId: str(m.cellId, `${at}.cellId`),
      model: str(m.model, `${at}.model`),
      ...(modelHash === undefined ? {} : { modelHash }),
      tokenizer: str(m.tokenizer, `${at}.tokenizer`),
      ...(tokenizerHash === undefined ? {} : { tokenizerHash }),
    };
  });
  unique(
    models.map((m) => m.cellId),
    'models',
  );
  const texts = list(p.texts, 'texts', (t, at) => {
    if (!Number.isSafeInteger(t.characters) || (t.characters as number) < 0)
      bad(`${at}.characters is not a whole number`);
    return {
      cellId: str(t.cellId, `${at}.cellId`),
      name: str(t.name, `${at}.name`),
      characters: t.characters as number,
      hash: str(t.hash, `${at}.hash`),
    };
  });
  unique(
    texts.map((t) => t.cellId),
    'texts',
  );
  const cells = list(p.cells, 'cells', (c, at) => {
    const params = obj(c.params, `${at}.params`);
    const inputs: Record<string, string> = {};
    for (const [role, id] of Object.entries(obj(c.inputs, `${at}.inputs`))) {
      if (role === '__proto__') bad(`${at}.inputs uses the reserved role "__proto__"`);
      inputs[str(role, `${at}.inputs role`)] = str(id, `${at}.inputs.${role}`);
    }
    return {
      id: str(c.id, `${at}.id`),
      kind: str(c.kind, `${at}.kind`),
      params: copy(params, (problem, path) =>
        bad(`${at}.params${path ? '.' + path : ''} ${problem}`),
      ) as Record<string, ParamValue>,
      inputs,
    };
  });
  unique(
    cells.map((c) => c.id),
    'cells',
  );
  return {
    sparsebookVersion: str(p.sparsebookVersion, 'sparsebookVersion'),
    createdAt,
    backend: {
      kind: str(backend.kind, 'backend.kind'),
      description: str(backend.description, 'backend.description'),
    },
    producer: p.producer as ReportProvenance['producer'],
    models,
    texts,
    cells,
  };
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'object' ? 'an object' : typeof v;
}
