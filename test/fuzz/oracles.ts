/**
 * What the parser fuzz tests and the corpus replay assert about one input: it is refused with the
 * parser's own clear error (NotebookError naming its source), quickly and within bounded memory,
 * or it is accepted and the result is sound (faithful to the input, usable by the app, and
 * round-trips through the matching encoder).
 */
import { deflateSync } from 'fflate';
import { expect } from 'vitest';
import { KNOWN_KINDS } from '../../app/cells/kinds';
import { encodeBase64url } from '../../app/notebook/base64url';
import { canonicalJson } from '../../app/notebook/canonical-json';
import { crc32 } from '../../app/notebook/crc32';
import type { NotebookDoc } from '../../app/notebook/document';
import { NotebookError } from '../../app/notebook/notebook-error';
import { parseNotebookFile, serializeNotebook } from '../../app/notebook/notebook-file';
import { decodeShareHash, encodeShareHash } from '../../app/notebook/share-link';
import { paramsLine } from '../../app/report/provenance';
import {
  decodeReport,
  encodeReport,
  frameReport,
  REPORT_VERSION,
  type ReportData,
} from '../../app/report/report-data';
import type { RssPeak } from './rss-peak';

export const OPTS = { knownKinds: KNOWN_KINDS };
/** One input may take this long before it counts as a hang (ms; generous for a loaded CI machine). */
export const HANG_MS = 3000;
/** One input may grow the process's memory by this much (MiB). */
export const MEMORY_MIB = 96;

/**
 * Run a parser on one input: returns the accepted value, or the NotebookError it was refused with
 * (checked to be clear: it names `source` and says what is wrong, briefly). Anything else thrown
 * fails the test, as does a hang or a memory blow-up.
 */
export function attempt<T>(
  rss: RssPeak,
  source: string | RegExp,
  parse: () => T,
): { value: T } | { error: NotebookError } {
  const m = rss.measure(parse);
  expect(m.ms, 'one input took too long').toBeLessThan(HANG_MS);
  expect(m.mib, 'one input grew memory too much (MiB)').toBeLessThan(MEMORY_MIB);
  if (!('error' in m)) return { value: m.value as T };
  if (!(m.error instanceof NotebookError)) throw m.error;
  const e = m.error;
  if (typeof source === 'string') expect(e.source).toBe(source);
  else expect(e.source).toMatch(source);
  expect(e.message.startsWith(`${e.source}: `)).toBe(true);
  expect(e.problem.length).toBeGreaterThan(5);
  expect(e.problem.length).toBeLessThan(400);
  expect(e.problem).not.toMatch(/undefined|\[object|NaN|TypeError|RangeError/);
  return { error: e };
}

/** A checked share link (`#nb=1.<crc>.<data>`) carrying any text: a link with a correct checksum. */
export function checkedLink(text: string): string {
  const compressed = deflateSync(new TextEncoder().encode(text), { level: 9 });
  return `#nb=1.${crc32(compressed).toString(16).padStart(8, '0')}.${encodeBase64url(compressed)}`;
}

/** The header and tables of raw report bytes (u32 header length, JSON header, tables). */
export function splitRaw(raw: Uint8Array): { header: Record<string, unknown>; tail: Uint8Array } {
  const length = new DataView(raw.buffer, raw.byteOffset, raw.byteLength).getUint32(0, true);
  return {
    header: JSON.parse(new TextDecoder().decode(raw.subarray(4, 4 + length))) as Record<string, unknown>,
    tail: raw.subarray(4 + length),
  };
}

/**
 * Raw report bytes written for report version 1 (bare DEFLATE), framed as this build writes a
 * report (header version 1 becomes the current one), so the header reaches the decoder's checks.
 */
export function reframeRaw(raw: Uint8Array): Uint8Array {
  const { header, tail } = splitRaw(raw);
  if (header.version === 1) header.version = REPORT_VERSION;
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(4 + json.length + tail.length);
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 4);
  out.set(tail, 4 + json.length);
  return frameReport(out);
}

/**
 * An accepted notebook is sound: saving and reopening it gives it back, and (for a current-version
 * input) it says exactly what the input said.
 */
export function expectSoundNotebook(input: unknown, doc: NotebookDoc): void {
  const again = parseNotebookFile(serializeNotebook(doc), 'again.sparsebook.json', OPTS);
  expect(canonicalJson(again)).toBe(canonicalJson(doc));
  expect(canonicalJson(decodeShareHash(encodeShareHash(doc), OPTS))).toBe(canonicalJson(doc));
  if ((input as { version?: unknown } | null)?.version === 2) {
    expect(canonicalJson(doc)).toBe(canonicalJson(input));
  }
}

/** Two reports hold the same notebook, provenance and results (table bytes compared). */
export function expectSameReport(a: ReportData, b: ReportData): void {
  expect(canonicalJson(a.doc)).toBe(canonicalJson(b.doc));
  expect(canonicalJson(a.provenance)).toBe(canonicalJson(b.provenance));
  expect([...a.cells.keys()].sort()).toEqual([...b.cells.keys()].sort());
  for (const [id, x] of a.cells) {
    const y = b.cells.get(id)!;
    expect(y.key).toBe(x.key);
    expect(canonicalJson(y.result.meta)).toBe(canonicalJson(x.result.meta));
    expect(Object.keys(y.result.tables).sort()).toEqual(Object.keys(x.result.tables).sort());
    for (const [name, t] of Object.entries(x.result.tables)) {
      expect(Buffer.compare(y.result.tables[name]!, t), `table ${name} of ${id}`).toBe(0);
    }
  }
}

/**
 * An accepted report is sound: everything the report page reads is there with the right types
 * (the provenance panel keys its lists by id, so those are unique), every result belongs to a cell
 * of the notebook and (given the raw header) is exactly the header's, and re-encoding it gives
 * the same report back.
 */
export function expectSoundReport(data: ReportData, header?: Record<string, unknown>): void {
  const p = data.provenance;
  expect(typeof p.backend.kind).toBe('string');
  expect(typeof p.backend.description).toBe('string');
  expect(typeof p.sparsebookVersion).toBe('string');
  expect(Number.isNaN(Date.parse(p.createdAt))).toBe(false);
  expect(['app', 'cli']).toContain(p.producer);
  const unique = (xs: string[]) => expect(new Set(xs).size).toBe(xs.length);
  unique(p.models.map((m) => m.cellId));
  unique(p.texts.map((t) => t.cellId));
  unique(p.cells.map((c) => c.id));
  for (const t of p.texts) expect(Number.isInteger(t.characters)).toBe(true);
  for (const c of p.cells) expect(typeof paramsLine(c.params)).toBe('string');
  expect(data.cells).toBeInstanceOf(Map);
  const ids = new Set(data.doc.cells.map((c) => c.id));
  for (const [id, cell] of data.cells) {
    expect(ids.has(id)).toBe(true);
    expect(typeof cell.key).toBe('string');
    for (const t of Object.values(cell.result.tables)) expect(t).toBeInstanceOf(Uint8Array);
  }
  if (header) {
    const raw = header.cells as Record<string, { key: string }>;
    expect([...data.cells.keys()].sort()).toEqual(Object.keys(raw).sort());
    for (const id of Object.keys(raw)) expect(data.cells.get(id)!.key).toBe(raw[id]!.key);
  }
  expectSameReport(decodeReport(encodeReport(data), OPTS), data);
}
