/**
 * What a report carries: the notebook, every computed cell's result (Arrow IPC tables + JSON meta)
 * and the provenance, packed into one deflated byte string. Tables are stored once by content and
 * referenced by index, so a table two cells share (or a cell repeats) costs its bytes once.
 *
 * Layout before deflate: a little-endian u32 header length, the JSON header, then the table bytes
 * back to back (`header.tables` gives their lengths in order). Decoding treats the bytes as hostile:
 * every length is bounded and every reference checked, and the notebook goes through the same
 * migration + validation as a file.
 */
import { deflateSync } from 'fflate';
import type { CellResult, Json } from '../notebook/cell-runtime';
import type { NotebookDoc } from '../notebook/document';
import { inflateCapped } from '../notebook/inflate-capped';
import { loadNotebookValue } from '../notebook/migrate';
import { NotebookError } from '../notebook/notebook-error';
import type { ValidateOptions } from '../notebook/schema';
import type { ReportProvenance } from './provenance';

export const REPORT_FORMAT = 'sparsebook-report';
export const REPORT_VERSION = 1;
/** Largest report payload accepted once inflated (bytes). */
export const MAX_REPORT_BYTES = 512 << 20;

/** One computed cell in a report. */
export interface ReportCell {
  /** The result key it was computed for (the scheduler's key of kind, params, inputs, backend). */
  key: string;
  result: CellResult;
}

export interface ReportData {
  doc: NotebookDoc;
  /** By cell id; cells without a result (markdown, never run) are absent. */
  cells: Record<string, ReportCell>;
  provenance: ReportProvenance;
}

interface Header {
  format: typeof REPORT_FORMAT;
  version: number;
  doc: unknown;
  provenance: ReportProvenance;
  cells: Record<string, { key: string; meta: Json; tables: Record<string, number> }>;
  /** Byte length of each stored table, in storage order. */
  tables: number[];
}

const SOURCE = 'report';

/** Pack a report (deflate level 6: Arrow IPC of float columns shrinks well, and fast). */
export function encodeReport(data: ReportData): Uint8Array {
  const store = new TableStore();
  const cells: Header['cells'] = {};
  for (const [id, { key, result }] of Object.entries(data.cells)) {
    const tables: Record<string, number> = {};
    for (const [name, bytes] of Object.entries(result.tables)) tables[name] = store.add(bytes);
    cells[id] = { key, meta: result.meta, tables };
  }
  const header: Header = {
    format: REPORT_FORMAT,
    version: REPORT_VERSION,
    doc: data.doc,
    provenance: data.provenance,
    cells,
    tables: store.items.map((t) => t.length),
  };
  const headerBytes = new TextEncoder().encode(JSON.stringify(header));
  const total = 4 + headerBytes.length + store.items.reduce((s, t) => s + t.length, 0);
  const out = new Uint8Array(total);
  new DataView(out.buffer).setUint32(0, headerBytes.length, true);
  out.set(headerBytes, 4);
  let at = 4 + headerBytes.length;
  for (const t of store.items) {
    out.set(t, at);
    at += t.length;
  }
  return deflateSync(out, { level: 6 });
}

/**
 * Unpack a report. Throws NotebookError (source `report`) naming what is wrong: not deflate data,
 * too large, a damaged header, a table past the end, a reference to a missing table, or a
 * notebook that fails validation.
 */
export function decodeReport(packed: Uint8Array, validate: ValidateOptions = {}): ReportData {
  const fail = (problem: string, cause?: unknown): never => {
    throw new NotebookError(SOURCE, problem, cause === undefined ? undefined : { cause });
  };
  let bytes: Uint8Array;
  try {
    bytes = inflateCapped(packed, MAX_REPORT_BYTES);
  } catch (e) {
    return fail('holds no readable report data (damaged or truncated file?)', e);
  }
  if (bytes.length < 4) fail('report data is too short');
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, true);
  if (4 + headerLength > bytes.length) fail('report header runs past the end of the data');
  let header: Header;
  try {
    header = JSON.parse(
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(4, 4 + headerLength)),
    );
  } catch (e) {
    return fail('report header is not valid JSON', e);
  }
  if (header?.format !== REPORT_FORMAT) fail('is not a Sparsebook report');
  if (typeof header.version !== 'number' || header.version > REPORT_VERSION)
    fail(`was written by a newer Sparsebook (report version ${String(header.version)})`);
  if (!Array.isArray(header.tables) || typeof header.cells !== 'object' || header.cells === null)
    fail('report header has no cell or table list');
  const doc = loadNotebookValue(header.doc, SOURCE, validate);
  const tables: Uint8Array[] = [];
  let at = 4 + headerLength;
  for (const [i, length] of header.tables.entries()) {
    if (!Number.isInteger(length) || length < 0 || at + length > bytes.length)
      fail(`table ${i} runs past the end of the data`);
    tables.push(bytes.subarray(at, at + length));
    at += length;
  }
  const ids = new Set(doc.cells.map((c) => c.id));
  const cells: Record<string, ReportCell> = {};
  for (const [id, cell] of Object.entries(header.cells)) {
    if (!ids.has(id)) fail(`has a result for cell "${id}", which is not in its notebook`);
    if (typeof cell?.key !== 'string') fail(`cell "${id}" has no result key`);
    const resultTables: Record<string, Uint8Array> = {};
    for (const [name, index] of Object.entries(cell.tables ?? {})) {
      const t = tables[index];
      if (!t) fail(`cell "${id}" refers to table ${index}, which the report does not hold`);
      resultTables[name] = t!;
    }
    cells[id] = { key: cell.key, result: { meta: cell.meta ?? null, tables: resultTables } };
  }
  return { doc, cells, provenance: header.provenance };
}

/** Content-addressed table storage: identical bytes are kept once. */
class TableStore {
  readonly items: Uint8Array[] = [];
  private readonly byDigest = new Map<string, number[]>();

  add(bytes: Uint8Array): number {
    const digest = `${bytes.length}:${fnv1a(bytes)}`;
    const same = this.byDigest.get(digest) ?? [];
    for (const i of same) if (equalBytes(this.items[i]!, bytes)) return i;
    this.items.push(bytes);
    same.push(this.items.length - 1);
    this.byDigest.set(digest, same);
    return this.items.length - 1;
  }
}

/** 32-bit FNV-1a: a cheap bucket key; equality is always confirmed byte by byte. */
function fnv1a(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h >>> 0;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
