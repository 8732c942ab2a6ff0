/**
 * Input generators shared by the parser fuzz tests (test/fuzz/*.fuzz.test.ts) and the measurement
 * script (test/fuzz/measure-parsers.ts): fast-check arbitraries for one-character edits of a real
 * input, hostile notebook documents and hostile report headers.
 */
import fc from 'fast-check';
import { crc32 } from '../../app/notebook/crc32';

/** The seed every fuzz test and the measurement use, so a run is reproducible. */
export const FUZZ_SEED = 20260512;

/** The base64url alphabet, plus the characters a careless copy or a URL can bring. */
export const LINK_CHARS = [
  ...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_',
  ...'.=&#+/% ~é\u0000',
];

/** One character replaced, removed or added at a position. */
export interface Edit {
  op: 'replace' | 'delete' | 'insert';
  /** Position as a fraction of the length, so one edit applies to any text. */
  at: number;
  ch: string;
}

/** Edits whose characters come from `chars`. */
export function editArb(chars: readonly string[]): fc.Arbitrary<Edit> {
  return fc.record({
    op: fc.constantFrom('replace', 'delete', 'insert'),
    // Uniform over positions: fast-check favours small values (and doubles crowd near 0).
    at: fc.noBias(fc.integer({ min: 0, max: 2 ** 30 - 1 })).map((n) => n / 2 ** 30),
    ch: fc.constantFrom(...chars),
  });
}

/** `text` with one edit applied (a replacement by the same character is a no-op, and allowed). */
export function applyEdit(text: string, e: Edit): string {
  const i = Math.min(text.length - 1, Math.floor(e.at * text.length));
  if (e.op === 'replace') return text.slice(0, i) + e.ch + text.slice(i + 1);
  if (e.op === 'delete') return text.slice(0, i) + text.slice(i + 1);
  return text.slice(0, i) + e.ch + text.slice(i);
}

/** One byte replaced, removed or added. */
export function applyByteEdit(bytes: Uint8Array, e: Edit): Uint8Array {
  const i = Math.min(bytes.length - 1, Math.floor(e.at * bytes.length));
  const b = e.ch.charCodeAt(0) & 255;
  if (e.op === 'replace') {
    const out = bytes.slice();
    out[i] = b === out[i] ? b ^ 1 : b;
    return out;
  }
  if (e.op === 'delete') return Uint8Array.of(...bytes.subarray(0, i), ...bytes.subarray(i + 1));
  return Uint8Array.of(...bytes.subarray(0, i), b, ...bytes.subarray(i));
}

/** Byte-edit characters: every byte value. */
export const BYTE_CHARS = Array.from({ length: 256 }, (_, i) => String.fromCharCode(i));

/** Names that are valid ids or keys but collide with Object.prototype. */
export const PROTO_NAMES = [
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  'valueOf',
  '__defineGetter__',
  'isPrototypeOf',
  'length',
];

/** A valid current-version notebook whose ids may be any of `ids` (at least 2). */
export function docWithIds(ids: readonly string[], title = 'Fuzz'): Record<string, unknown> {
  return {
    format: 'sparsebook-notebook',
    version: 2,
    title,
    cells: ids.map((id, i) => ({
      id,
      kind: i === 0 ? 'markdown' : i === 1 ? 'text' : 'loss',
      params: i === 0 ? { source: '# hi' } : i === 1 ? { text: 'abc' } : {},
      inputs: i >= 2 ? { text: ids[1] } : {},
    })),
  };
}

/** A JSON text with an own `__proto__` key where `JSON.stringify` cannot put one. */
function withOwnKey(value: Record<string, unknown>, key: string, item: unknown): Record<string, unknown> {
  const out = { ...value };
  Object.defineProperty(out, key, { value: item, enumerable: true, writable: true, configurable: true });
  return out;
}

const deep = (n: number, leaf: unknown = 1): unknown => {
  let v = leaf;
  for (let i = 0; i < n; i++) v = [v];
  return v;
};

/**
 * Hostile notebook documents (as JSON-ready values): ids and roles named after Object.prototype,
 * odd versions, deep params, wrong types in every field, mixed with arbitrary JSON.
 */
export function hostileNotebookArb(): fc.Arbitrary<unknown> {
  const id = fc.oneof(fc.constantFrom(...PROTO_NAMES), fc.stringMatching(/^[A-Za-z0-9_-]{1,8}$/));
  const version = fc.oneof(
    fc.constantFrom<unknown>(-5, 0, 0.5, 1, 2, 3, 1e308, -0, '2', null, true, [2], { v: 2 }),
    fc.integer(),
    fc.double(),
  );
  const anyJson = fc.jsonValue({ maxDepth: 4 });
  const base = fc.uniqueArray(id, { minLength: 3, maxLength: 5 }).map((ids) => docWithIds(ids));
  return fc.oneof(
    base,
    fc.tuple(base, version).map(([d, v]) => ({ ...d, version: v })),
    fc.tuple(base, fc.constantFrom(...PROTO_NAMES), fc.nat(4)).map(([d, role, i]) => {
      const cells = d.cells as Record<string, unknown>[];
      const c = cells[Math.min(i, cells.length - 1)]!;
      const target = cells[0]!.id as string;
      const inputs = c === cells[0] ? {} : withOwnKey({}, role, target);
      cells[cells.indexOf(c)] = { ...c, inputs };
      return d;
    }),
    fc.tuple(base, fc.constantFrom(...PROTO_NAMES), anyJson).map(([d, key, v]) => {
      const cells = d.cells as Record<string, unknown>[];
      cells[0] = { ...cells[0], params: withOwnKey({}, key, v) };
      return d;
    }),
    fc.tuple(base, fc.constantFrom('title', 'cells', 'format', 'extra'), anyJson).map(([d, k, v]) => ({
      ...d,
      [k]: v,
    })),
    fc
      .tuple(base, fc.nat(4), fc.constantFrom('id', 'kind', 'params', 'inputs', 'x'), anyJson)
      .map(([d, i, k, v]) => {
        const cells = d.cells as Record<string, unknown>[];
        const at = Math.min(i, cells.length - 1);
        cells[at] = { ...cells[at], [k]: v };
        return d;
      }),
    fc.tuple(base, fc.constantFrom(40, 1000, 2000)).map(([d, n]) => {
      const cells = d.cells as Record<string, unknown>[];
      cells[0] = { ...cells[0], params: { deep: deep(n) } };
      return d;
    }),
    fc.constant(withOwnKey(docWithIds(['a', 'b', 'c']), '__proto__', { polluted: true })),
    fc.tuple(fc.constantFrom(...PROTO_NAMES), fc.constantFrom('type', 'dependsOn')).map(([depId, _]) => ({
      format: 'sparsebook-notebook',
      version: 1,
      title: 'v1',
      cells: [
        { id: depId, type: 'text', params: { text: 'a' }, dependsOn: [] },
        { id: 'x', type: 'loss', params: {}, dependsOn: [depId, depId, 'ghost'] },
      ],
    })),
    anyJson,
  );
}

/** The raw bytes of a report before compression: u32 header length, JSON header, table bytes. */
export function reportRaw(
  header: unknown,
  tail: Uint8Array = new Uint8Array(),
  headerLength?: number,
): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header) ?? '');
  const out = new Uint8Array(4 + json.length + tail.length);
  new DataView(out.buffer).setUint32(0, headerLength ?? json.length, true);
  out.set(json, 4);
  out.set(tail, 4 + json.length);
  return out;
}

/** A valid report header for `doc` (provenance as buildProvenance would write it) with one table. */
export function reportHeader(doc: Record<string, unknown>): Record<string, unknown> {
  const cells = doc.cells as { id: string; kind: string; params: unknown; inputs: unknown }[];
  return {
    format: 'sparsebook-report',
    version: 1,
    doc,
    provenance: {
      sparsebookVersion: '0.1.0',
      createdAt: '1970-01-01T00:00:00.000Z',
      backend: { kind: 'cpu', description: 'CPU' },
      producer: 'app',
      models: [],
      texts: [{ cellId: cells[1]!.id, name: 'text', characters: 3, hash: '0'.repeat(64) }],
      cells: cells.map((c) => ({ id: c.id, kind: c.kind, params: c.params, inputs: c.inputs })),
    },
    cells: Object.fromEntries(
      cells.slice(1).map((c) => [c.id, { key: 'k-' + c.id, meta: { n: 1 }, tables: { t: 0 } }]),
    ),
    tables: [3],
  };
}

/**
 * Hostile report headers: the shapes the issue names (null provenance, table indices such as
 * "length", versions -5 and 0.5, cell ids such as __proto__) and wrong types in every field. The
 * `version` field is left to the caller (the build's own version unless a case sets one).
 */
export function hostileReportArb(): fc.Arbitrary<{ header: Record<string, unknown>; tail: Uint8Array }> {
  const id = fc.oneof(fc.constantFrom(...PROTO_NAMES), fc.stringMatching(/^[A-Za-z0-9_-]{1,8}$/));
  const anyJson = fc.jsonValue({ maxDepth: 3 });
  const tail = Uint8Array.of(1, 2, 3);
  const base = fc.uniqueArray(id, { minLength: 3, maxLength: 5 }).map((ids) => reportHeader(docWithIds(ids)));
  const cellsOf = (h: Record<string, unknown>) => h.cells as Record<string, Record<string, unknown>>;
  const index = fc.oneof(
    fc.constantFrom<unknown>(
      'length',
      'constructor',
      '__proto__',
      'toString',
      '0',
      -1,
      1.5,
      1,
      2 ** 32,
      null,
      [0],
      {},
    ),
    fc.integer({ min: -3, max: 3 }),
  );
  const header = fc.oneof(
    base,
    fc
      .tuple(base, fc.constantFrom<unknown>(-5, 0, 0.5, '1', 1e9, null, true, [1], 1.0000001))
      .map(([h, v]) => ({
        ...h,
        version: v,
      })),
    fc
      .tuple(base, fc.constantFrom<unknown>(null, undefined, 'x', 5, [], {}))
      .map(([h, p]) => ({ ...h, provenance: p })),
    fc
      .tuple(
        base,
        fc.constantFrom('sparsebookVersion', 'createdAt', 'backend', 'producer', 'models', 'texts', 'cells'),
        fc.oneof(anyJson, fc.constantFrom<unknown>(null, [null], [{}], { kind: 5 })),
      )
      .map(([h, k, v]) => ({ ...h, provenance: { ...(h.provenance as object), [k]: v } })),
    base.map((h) => {
      const p = h.provenance as { cells: unknown[] };
      return { ...h, provenance: { ...p, cells: [...p.cells, p.cells[0]] } };
    }),
    fc.tuple(base, index).map(([h, i]) => {
      const cells = cellsOf(h);
      const first = Object.keys(cells)[0]!;
      cells[first] = { ...cells[first], tables: { t: i } };
      return h;
    }),
    fc.tuple(base, fc.constantFrom(...PROTO_NAMES)).map(([h, name]) => {
      const cells = cellsOf(h);
      const first = Object.keys(cells)[0]!;
      cells[first] = { ...cells[first], tables: withOwnKey({}, name, 0) };
      return h;
    }),
    fc
      .tuple(base, fc.constantFrom('key', 'meta', 'tables', 'x'), fc.oneof(anyJson, fc.constant(deep(2000))))
      .map(([h, k, v]) => {
        const cells = cellsOf(h);
        const first = Object.keys(cells)[0]!;
        cells[first] = { ...cells[first], [k]: v };
        return h;
      }),
    fc.tuple(base, fc.constantFrom(...PROTO_NAMES)).map(([h, name]) => ({
      ...h,
      cells: withOwnKey(cellsOf(h), name, { key: 'k', meta: null, tables: {} }),
    })),
    fc
      .tuple(base, fc.constantFrom('cells', 'tables', 'doc', 'format'), anyJson)
      .map(([h, k, v]) => ({ ...h, [k]: v })),
    fc
      .tuple(base, fc.constantFrom<unknown>([-1], [1.5], [1e12], ['3'], [null], [3, 3], []))
      .map(([h, t]) => ({
        ...h,
        tables: t,
      })),
  );
  return header.map((h) => ({ header: h, tail }));
}

/**
 * A report frame (see app/report/report-data.ts) around any DEFLATE data, declaring any inflated
 * length, with a correct checksum: what someone crafting a hostile report would write.
 */
export function craftFrame(deflated: Uint8Array, declared: number, version = 2): Uint8Array {
  const out = new Uint8Array(12 + deflated.length);
  out.set([0x53, 0x42, 0x52, version]);
  const view = new DataView(out.buffer);
  view.setUint32(4, declared, true);
  out.set(deflated, 12);
  view.setUint32(8, crc32(out.subarray(12), crc32(out.subarray(0, 8))), true);
  return out;
}
