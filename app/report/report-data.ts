/**
 * What a report carries: the notebook, every computed cell's result (Arrow IPC tables + JSON meta)
 * and the provenance, packed into one checksummed, deflated byte string. Tables are stored once by
 * content and referenced by index, so a table two cells share (or a cell repeats) costs its bytes
 * once.
 *
 * Packed layout (report version 2): the frame `S B R <version>`, a little-endian u32 giving the
 * inflated length, a little-endian u32 CRC-32 of every other byte of the packed data, then raw
 * DEFLATE of: a little-endian u32 header length, the JSON header, then the table bytes back to back
 * (`header.tables` gives their lengths in order). Version 1 (bare DEFLATE, no checksum) is refused:
 * such a report still opens by itself, since it carries the app that made it.
 *
 * Decoding treats the bytes as hostile: the checksum is verified before anything is inflated; the
 * inflated size is bounded (MAX_REPORT_BYTES, and MAX_REPORT_EXPANSION × the packed size past
 * REPORT_EXPANSION_FLOOR); the header is checked in full as soon as it is inflated, before any
 * table byte is; every length and reference is checked; and the notebook goes through the same
 * migration + validation as a file. Every refusal is a NotebookError with source `report`.
 */
import { deflateSync } from 'fflate';
import type { CellResult, Json } from '../notebook/cell-runtime';
import { crc32 } from '../notebook/crc32';
import type { NotebookDoc } from '../notebook/document';
import { inflateEach } from '../notebook/inflate-capped';
import { isPlainObject, jsonCopier } from '../notebook/json-copy';
import { loadNotebookValue } from '../notebook/migrate';
import { NotebookError } from '../notebook/notebook-error';
import { describeError } from '../state/errors';
import type { ValidateOptions } from '../notebook/schema';
import { validateProvenance, type ReportProvenance } from './provenance';
import type { KeptAnswer } from '../state/kept-answers';

export const REPORT_FORMAT = 'sparsebook-report';
/** The report version this build writes and reads (2: checksummed frame; 1 was bare DEFLATE). */
export const REPORT_VERSION = 2;
/** Largest report payload accepted once inflated (bytes). */
export const MAX_REPORT_BYTES = 512 << 20;
/** Largest JSON header (notebook, provenance, result summaries) accepted (bytes). */
export const MAX_REPORT_HEADER_BYTES = 64 << 20;
/** Past REPORT_EXPANSION_FLOOR, a report may inflate to at most this many times its packed size. */
export const MAX_REPORT_EXPANSION = 64;
/** Reports up to this inflated size may compress however well they do (bytes). */
export const REPORT_EXPANSION_FLOOR = 32 << 20;

/** One computed cell in a report. */
export interface ReportCell {
  /** The result key it was computed for (the scheduler's key of kind, params, inputs, backend). */
  key: string;
  result: CellResult;
}

export interface ReportData {
  doc: NotebookDoc;
  /**
   * By cell id; cells without a result (markdown, never run) are absent. A Map, since a cell id
   * may be any valid id, `constructor` and `__proto__` included.
   */
  cells: ReadonlyMap<string, ReportCell>;
  provenance: ReportProvenance;
  /**
   * The cells' answers to the notebook's selection when the report was made (app/state/
   * kept-answers.ts), by cell id: shown without a worker. Only for cells with a result here.
   */
  answers?: ReadonlyMap<string, KeptAnswer>;
}

interface Header {
  format: typeof REPORT_FORMAT;
  version: number;
  doc: unknown;
  provenance: ReportProvenance;
  cells: Record<string, { key: string; meta: Json; tables: Record<string, number> }>;
  /** By cell id; absent when no cell kept an answer. */
  answers?: Record<string, KeptAnswer>;
  /** Byte length of each stored table, in storage order. */
  tables: number[];
}

/** A header that passed every check, with the notebook validated. */
interface CheckedHeader {
  doc: NotebookDoc;
  provenance: ReportProvenance;
  cells: Map<string, { key: string; meta: Json; tables: [name: string, index: number][] }>;
  answers: Map<string, KeptAnswer>;
  tables: number[];
}

const SOURCE = 'report';
/** `S`, `B`, `R`: the first three bytes of every checksummed report. */
const MAGIC = [0x53, 0x42, 0x52] as const;
/** Bytes before the DEFLATE data: magic, version, inflated length, CRC-32. */
const FRAME_BYTES = 12;
/** Longest result key accepted (keys are SHA-256 hex, with room to spare). */
const MAX_KEY_CHARS = 1024;
/**
 * DEFLATE input per step: at most ~16 MB of output (1032 × 16 KiB) before `take` checks it, and
 * few enough steps that a large report inflates quickly.
 */
const INFLATE_SLICE = 16 << 10;
/** Limits on a result's JSON summary. */
const META_LIMITS = { maxStringBytes: MAX_REPORT_HEADER_BYTES, maxDepth: 64 };

/**
 * Pack a report (deflate level 6: Arrow IPC of float columns shrinks well, and fast). Throws
 * NotebookError (source `report`) for a report larger than this build reads back.
 *
 * @example
 * const packed = encodeReport({ doc, cells: new Map([['c1', { key, result }]]), provenance });
 */
export function encodeReport(data: ReportData): Uint8Array {
  const store = new TableStore();
  // Null-prototype maps: a cell id or table name such as `__proto__` stays an ordinary key.
  const cells: Header['cells'] = Object.create(null);
  for (const [id, { key, result }] of data.cells) {
    const tables: Record<string, number> = Object.create(null);
    for (const [name, bytes] of Object.entries(result.tables)) tables[name] = store.add(bytes);
    cells[id] = { key, meta: result.meta, tables };
  }
  const answers: Record<string, KeptAnswer> = Object.create(null);
  for (const [id, answer] of data.answers ?? []) if (data.cells.has(id)) answers[id] = answer;
  const header: Header = {
    format: REPORT_FORMAT,
    version: REPORT_VERSION,
    doc: data.doc,
    provenance: data.provenance,
    cells,
    ...(Object.keys(answers).length ? { answers } : {}),
    tables: store.items.map((t) => t.length),
  };
  const headerBytes = new TextEncoder().encode(JSON.stringify(header));
  if (headerBytes.length > MAX_REPORT_HEADER_BYTES) {
    throw new NotebookError(SOURCE, `is too large to export (its header is ${mb(headerBytes.length)})`);
  }
  const total = 4 + headerBytes.length + store.items.reduce((s, t) => s + t.length, 0);
  if (total > MAX_REPORT_BYTES) {
    throw new NotebookError(
      SOURCE,
      `is too large to export (${mb(total)}; the limit is ${mb(MAX_REPORT_BYTES)}); drop some results`,
    );
  }
  const out = new Uint8Array(total);
  new DataView(out.buffer).setUint32(0, headerBytes.length, true);
  out.set(headerBytes, 4);
  let at = 4 + headerBytes.length;
  for (const t of store.items) {
    out.set(t, at);
    at += t.length;
  }
  return frameReport(out);
}

/**
 * Deflate and frame raw report bytes (u32 header length, header, tables) as {@link encodeReport}
 * does. Data that would compress past what {@link decodeReport} accepts (MAX_REPORT_EXPANSION)
 * is stored uncompressed instead, so every report written can be read back. Exported for tests.
 *
 * @example
 * const packed = frameReport(raw);
 */
export function frameReport(raw: Uint8Array): Uint8Array {
  let deflated = deflateSync(raw, { level: 6 });
  if (!withinExpansion(raw.length, FRAME_BYTES + deflated.length)) deflated = deflateSync(raw, { level: 0 });
  const out = new Uint8Array(FRAME_BYTES + deflated.length);
  out.set(MAGIC);
  out[3] = REPORT_VERSION;
  const view = new DataView(out.buffer);
  view.setUint32(4, raw.length, true);
  out.set(deflated, FRAME_BYTES);
  view.setUint32(8, frameChecksum(out), true);
  return out;
}

/**
 * Unpack a report. Throws NotebookError (source `report`), and nothing else, naming what is
 * wrong: no frame (damaged, or from an older build), a newer version, a checksum that does not
 * match, too large or expanding too far, data that does not inflate, a header that is not valid
 * JSON or has the wrong shape anywhere (version, provenance, cells, table indices), a table past
 * the end, a reference to a missing table, or a notebook that fails validation.
 *
 * @example
 * const { doc, cells, provenance } = decodeReport(packed, { knownKinds });
 * cells.get('c1')?.result.tables.curve; // Arrow IPC bytes
 */
export function decodeReport(packed: Uint8Array, validate: ValidateOptions = {}): ReportData {
  const fail = (problem: string, cause?: unknown): never => {
    throw new NotebookError(SOURCE, problem, cause === undefined ? undefined : { cause });
  };
  const length = openFrame(packed, fail);

  // Inflate into one buffer: while the header is being read it grows as needed (up to the header's
  // size); once the header has passed every check it grows once to the declared length.
  let buf = new Uint8Array(Math.min(length, 1 << 16));
  let filled = 0;
  let headerLength = -1;
  let header: CheckedHeader | undefined;
  const grow = (size: number) => {
    const next = new Uint8Array(size);
    next.set(buf.subarray(0, filled));
    buf = next;
  };
  const take = (chunk: Uint8Array) => {
    if (filled + chunk.length > length) fail(`report data runs past the ${length} bytes its frame declares`);
    if (filled + chunk.length > buf.length) {
      grow(header ? length : Math.min(length, Math.max(2 * buf.length, filled + chunk.length)));
    }
    buf.set(chunk, filled);
    filled += chunk.length;
    if (header) return;
    if (headerLength < 0 && filled >= 4) {
      headerLength = new DataView(buf.buffer, 0, 4).getUint32(0, true);
      if (headerLength > MAX_REPORT_HEADER_BYTES) fail(`report header is too large (${mb(headerLength)})`);
      if (4 + headerLength > length) fail('report header runs past the end of the data');
    }
    if (headerLength >= 0 && filled >= 4 + headerLength) {
      header = checkHeader(buf.subarray(4, 4 + headerLength), length - 4 - headerLength, validate, fail);
      if (buf.length < length) grow(length);
    }
  };
  try {
    inflateEach(packed.subarray(FRAME_BYTES), take, INFLATE_SLICE);
  } catch (e) {
    if (e instanceof NotebookError) throw e;
    return fail(`is damaged (could not decompress: ${describeError(e).message})`, e);
  }
  if (filled < 4) fail('report data is too short');
  if (!header) return fail('report header runs past the end of the data');
  if (filled !== length) fail(`report data ends after ${filled} of the ${length} bytes its frame declares`);

  const tables: Uint8Array[] = [];
  let at = 4 + headerLength;
  for (const n of header.tables) {
    tables.push(buf.subarray(at, at + n));
    at += n;
  }
  const cells = new Map<string, ReportCell>();
  for (const [id, cell] of header.cells) {
    const resultTables: Record<string, Uint8Array> = Object.create(null);
    for (const [name, index] of cell.tables) resultTables[name] = tables[index]!;
    cells.set(id, { key: cell.key, result: { meta: cell.meta, tables: resultTables } });
  }
  return { doc: header.doc, cells, provenance: header.provenance, answers: header.answers };
}

/** Check the frame and its checksum; returns the declared inflated length. */
function openFrame(packed: Uint8Array, fail: (problem: string) => never): number {
  if (packed.length < FRAME_BYTES || MAGIC.some((b, i) => packed[i] !== b)) {
    fail(
      'is damaged or was made by an older Sparsebook build (its data has no checksummed frame); ' +
        'an older report still opens by itself in a browser',
    );
  }
  const version = packed[3]!;
  if (version > REPORT_VERSION) {
    fail(
      `was written by a newer Sparsebook (report version ${version}; this build reads version ${REPORT_VERSION}), or is damaged`,
    );
  }
  if (version !== REPORT_VERSION) {
    fail(`is damaged or was made by an older Sparsebook build (report version ${version})`);
  }
  const view = new DataView(packed.buffer, packed.byteOffset, packed.byteLength);
  if (view.getUint32(8, true) !== frameChecksum(packed)) {
    fail('is damaged (its checksum does not match: the file was changed or cut short)');
  }
  const length = view.getUint32(4, true);
  if (length > MAX_REPORT_BYTES) {
    fail(`is too large (${mb(length)} of report data; the limit is ${mb(MAX_REPORT_BYTES)})`);
  }
  if (!withinExpansion(length, packed.length)) {
    fail(
      `claims ${mb(length)} of data from ${mb(packed.length)}, more than ${MAX_REPORT_EXPANSION}× expansion; refused`,
    );
  }
  if (length < 4) fail('report data is too short');
  return length;
}

/** CRC-32 of the frame's first 8 bytes and the DEFLATE data (everything but the CRC itself). */
function frameChecksum(packed: Uint8Array): number {
  return crc32(packed.subarray(FRAME_BYTES), crc32(packed.subarray(0, 8)));
}

function withinExpansion(inflated: number, packed: number): boolean {
  return inflated <= Math.max(REPORT_EXPANSION_FLOOR, MAX_REPORT_EXPANSION * packed);
}

/**
 * Parse and check the whole header: `tableBytes` is how many bytes follow it, which the table
 * lengths must add up to exactly.
 */
function checkHeader(
  json: Uint8Array,
  tableBytes: number,
  validate: ValidateOptions,
  fail: (problem: string, cause?: unknown) => never,
): CheckedHeader {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(json));
  } catch (e) {
    return fail('report header is not valid JSON', e);
  }
  if (!isPlainObject(raw)) return fail('report header is not a JSON object');
  if (raw.format !== REPORT_FORMAT) fail('is not a Sparsebook report');
  const version = raw.version;
  if (version === undefined) fail('report header has no version');
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 0) {
    fail(`report header has an invalid version ${short(version)} (expected a whole number)`);
  }
  if ((version as number) > REPORT_VERSION) {
    fail(`was written by a newer Sparsebook (report version ${String(version)})`);
  }
  if (version !== REPORT_VERSION) {
    fail(`report header says version ${String(version)}, but its frame says ${REPORT_VERSION}`);
  }
  if (!Array.isArray(raw.tables)) fail('report header has no table list');
  if (!isPlainObject(raw.cells)) fail('report header has no cell list');

  const tables = raw.tables as unknown[];
  let sum = 0;
  for (const [i, n] of tables.entries()) {
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || sum + n > tableBytes) {
      fail(`table ${i} runs past the end of the data`);
    }
    sum += n as number;
  }
  if (sum !== tableBytes) fail(`report tables hold ${sum} bytes but the data holds ${tableBytes}`);

  const provenance = validateProvenance(raw.provenance, fail);
  const doc = loadNotebookValue(raw.doc, SOURCE, validate);
  const ids = new Set(doc.cells.map((c) => c.id));
  const copyMeta = jsonCopier(META_LIMITS, { bytes: 0 });
  const cells: CheckedHeader['cells'] = new Map();
  // Object.keys, not `in`: only the header's own entries count (JSON.parse makes `__proto__` one).
  for (const [id, cell] of Object.entries(raw.cells as Record<string, unknown>)) {
    const name = JSON.stringify(id.length > 64 ? id.slice(0, 64) + '…' : id);
    if (!ids.has(id)) fail(`has a result for cell ${name}, which is not in its notebook`);
    if (!isPlainObject(cell)) return fail(`cell ${name}'s result is not an object`);
    if (typeof cell.key !== 'string' || cell.key.length > MAX_KEY_CHARS)
      fail(`cell ${name} has no result key`);
    const meta =
      cell.meta === undefined
        ? null
        : (copyMeta(cell.meta, (problem, path) =>
            fail(`cell ${name}'s result summary${path ? ` at ${path.slice(0, 60)}` : ''} ${problem}`),
          ) as Json);
    if (!isPlainObject(cell.tables)) return fail(`cell ${name} has no table list`);
    const refs: [string, number][] = [];
    for (const [table, index] of Object.entries(cell.tables)) {
      if (table === '__proto__') fail(`cell ${name} names a table "__proto__"`);
      if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= tables.length) {
        fail(`cell ${name} refers to table ${short(index)}, which the report does not hold`);
      }
      refs.push([table, index as number]);
    }
    cells.set(id, { key: cell.key as string, meta, tables: refs });
  }
  const answers = new Map<string, KeptAnswer>();
  if (raw.answers !== undefined) {
    if (!isPlainObject(raw.answers)) fail('report header has an answer list that is not an object');
    for (const [id, answer] of Object.entries(raw.answers as Record<string, unknown>)) {
      const name = JSON.stringify(id.length > 64 ? id.slice(0, 64) + '…' : id);
      if (!cells.has(id)) fail(`has an answer for cell ${name}, which has no result in it`);
      if (!isPlainObject(answer)) return fail(`cell ${name}'s answer is not an object`);
      if (typeof answer.key !== 'string' || answer.key.length > MAX_KEY_CHARS) {
        fail(`cell ${name}'s answer has no key`);
      }
      if (answer.value === undefined) fail(`cell ${name}'s answer has no value`);
      const value = copyMeta(answer.value, (problem, path) =>
        fail(`cell ${name}'s answer${path ? ` at ${path.slice(0, 60)}` : ''} ${problem}`),
      ) as Json;
      answers.set(id, { key: answer.key as string, value });
    }
  }
  return { doc, provenance, cells, answers, tables: tables as number[] };
}

/** A value quoted for a message, cut short. */
function short(v: unknown): string {
  let s: string;
  try {
    s = v === undefined ? 'undefined' : (JSON.stringify(v) ?? String(v));
  } catch {
    s = Array.isArray(v) ? 'a list' : typeof v; // nested too deeply to print
  }
  return s.length > 40 ? s.slice(0, 37) + '…' : s;
}

function mb(n: number): string {
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MB` : `${Math.ceil(n / 1024)} KB`;
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

/**
 * The results a report of `doc` holds: each cell whose runtime is `done` with a result and a key,
 * by cell id, and the cells that could run but have no current result (`missing`). The app's
 * Export report and the CLI's `report` both build their report from this.
 *
 * @example
 * const { cells, results, missing } = collectReportCells(doc, (id) => run.runtime(id), (k) => !!kindOf(k)?.run);
 * encodeReport({ doc, cells, provenance: await buildProvenance(doc, results, backend, 'cli') });
 */
export function collectReportCells(
  doc: NotebookDoc,
  runtime: (id: string) => { status: string; result?: CellResult; resultKey?: string },
  runnable: (kind: string) => boolean,
): { cells: Map<string, ReportCell>; results: Map<string, CellResult>; missing: string[] } {
  const cells = new Map<string, ReportCell>();
  const results = new Map<string, CellResult>();
  const missing: string[] = [];
  for (const cell of doc.cells) {
    const rt = runtime(cell.id);
    if (rt.status === 'done' && rt.result && rt.resultKey) {
      cells.set(cell.id, { key: rt.resultKey, result: rt.result });
      results.set(cell.id, rt.result);
    } else if (runnable(cell.kind)) missing.push(cell.id);
  }
  return { cells, results, missing };
}
