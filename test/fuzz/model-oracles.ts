/**
 * What the model-file fuzz tests and their corpus replay assert about one input: it is refused with
 * the runtime's own clear error (an InputError: ModelFormatError, TokenizerError, TextError,
 * CompatibilityError) naming one of the input's files, quickly and within bounded memory; or it
 * is accepted and the result is sound: consistent (shapes match data, ids lie in the vocabulary),
 * free of non-finite weights and absurd sizes, and it re-serialises to the same thing.
 */
import { toFloat32, type HalfArray } from '../../kernels/weight-dtype';
import { expect } from 'vitest';
import { exportSaeLens, importSaeLens, type SaeLensImport } from '../../analyses/sae/saelens';
import { InputError } from '../../runtime/errors';
import { hfTensorShapes, type HfCheckpoint } from '../../runtime/formats/hf-checkpoint';
import type { HfModelConfig } from '../../runtime/formats/hf-config';
import { parseLlama2c, type Llama2cCheckpoint } from '../../runtime/formats/llama2c';
import { writeLlama2c } from '../../runtime/formats/llama2c-write';
import type { ModelFilePlan } from '../../runtime/formats/model-files';
import { parseSafetensors, type SafetensorsFile } from '../../runtime/formats/safetensors';
import { SAFETENSORS_DTYPE_BYTES } from '../../runtime/formats/safetensors-dtypes';
import type { LlamaConfig } from '../../runtime/model/llama-config';
import type { HfTokenizer } from '../../runtime/tokenizers/hf-tokenizer';
import { BOS, EOS, type Llama2cTokenizer } from '../../runtime/tokenizers/llama2c-tokenizer';
import type { Tokenizer } from '../../runtime/tokenizers/tokenizer';
import { safetensorsBytes, SAMPLE_TEXTS } from './model-inputs';
import type { RssPeak } from './rss-peak';

/** One input may take this long before it counts as a hang (ms): oracles.ts's HANG_MS. */
export const HANG_MS = 3000;

/** One input may grow the process's memory by this much (MiB); the real files are at most 2 MB. */
export const MODEL_MEMORY_MIB = 128;

/** Largest parameter count a config may imply (float32: 128 GiB). */
export const MAX_PARAMETERS = 2 ** 35;

/**
 * Run a parser on one input: returns the accepted value, or the InputError it was refused with,
 * checked to be clear (it names one of `files`, says what is wrong in a few hundred characters,
 * and shows no `undefined` or `[object …]`). Any other exception fails the test, as do a hang
 * and a memory blow-up.
 */
export function attemptInput<T>(
  rss: RssPeak,
  files: readonly string[],
  parse: () => T,
  memoryMib = MODEL_MEMORY_MIB,
): { value: T } | { error: InputError } {
  const m = rss.measure(parse);
  expect(m.ms, 'one input took too long').toBeLessThan(HANG_MS);
  expect(m.mib, 'one input grew memory too much (MiB)').toBeLessThan(memoryMib);
  if (!('error' in m)) return { value: m.value as T };
  if (!(m.error instanceof InputError)) throw m.error;
  expectClearError(m.error, files);
  return { error: m.error };
}

/** A refusal names one of `files` first and says briefly what is wrong. */
export function expectClearError(e: InputError, files: readonly string[]): void {
  expect(files).toContain(e.file);
  expect(e.message.startsWith(`${e.file}: `)).toBe(true);
  expect(e.problem.length).toBeGreaterThan(5);
  expect(e.problem.length, e.problem.slice(0, 200)).toBeLessThan(1500);
  // A library's own message quoted in a refusal ("cannot read the tokenizer: …") may say anything.
  const own = e.problem.replace(
    /(cannot read the tokenizer|not a readable zip|not JSON|not valid JSON|invalid JSON): .*$/s,
    '',
  );
  expect(own).not.toMatch(/undefined|\[object|TypeError|RangeError/);
}

// ── safetensors ──────────────────────────────────────────────────────────

const FLOATS = ['F32', 'F16', 'BF16', 'F64'];

/**
 * An accepted safetensors file is consistent with its bytes (every tensor's span lies in the data
 * section, holds exactly shape × dtype bytes and overlaps no other), every tensor converts (or is
 * refused naming the file: int32 range, F8), and writing the header and data back out gives a
 * file that parses to the same tensors and bytes.
 */
export function expectSoundSafetensors(file: SafetensorsFile, bytes: Uint8Array): void {
  const headerLen = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const wrong: string[] = [];
  const spans: [number, number][] = [];
  for (const [name, t] of file.tensors) {
    const where = `tensor ${JSON.stringify(name)}`;
    if (t.name !== name) wrong.push(`${where} is called ${t.name}`);
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) wrong.push(`${where} shape ${t.shape}`);
    if (t.size !== t.shape.reduce((n, d) => n * d, 1)) wrong.push(`${where} size ${t.size}`);
    if (t.end - t.begin !== t.size * SAFETENSORS_DTYPE_BYTES[t.dtype])
      wrong.push(`${where} spans ${t.end - t.begin}`);
    if (t.begin < 8 + headerLen || t.end > bytes.length) wrong.push(`${where} at [${t.begin}, ${t.end}]`);
    if (t.end > t.begin) spans.push([t.begin, t.end]);
    try {
      const data = FLOATS.includes(t.dtype) ? file.float32(name) : file.int32(name);
      if (data.length !== t.size) wrong.push(`${where} converts to ${data.length} values`);
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      expectClearError(e, [file.fileName]);
    }
  }
  spans.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++)
    if (spans[i]![0] < spans[i - 1]![1]) wrong.push(`overlap at ${spans[i]![0]}`);
  expect(wrong).toEqual([]);
  // Re-serialised: the same tensors, dtypes, shapes, metadata and bytes.
  const header: Record<string, unknown> = {};
  if (Object.keys(file.metadata).length) header.__metadata__ = { ...file.metadata };
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of file.tensors) {
    const raw = file.raw(name);
    Object.defineProperty(header, name, {
      value: { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + raw.length] },
      enumerable: true,
    });
    parts.push(raw);
    offset += raw.length;
  }
  const data = new Uint8Array(offset);
  parts.reduce((o, p) => (data.set(p, o), o + p.length), 0);
  const again = parseSafetensors(safetensorsBytes(header, data), 'again.safetensors');
  expect([...again.tensors.keys()]).toEqual([...file.tensors.keys()]);
  expect(again.metadata).toEqual(file.metadata);
  for (const [name, t] of file.tensors) {
    const u = again.tensors.get(name)!;
    if (u.dtype !== t.dtype || u.shape.join() !== t.shape.join())
      wrong.push(`${name} reads back as ${u.dtype} [${u.shape}]`);
    if (Buffer.compare(again.raw(name), file.raw(name)) !== 0) wrong.push(`${name} reads back other bytes`);
  }
  expect(wrong).toEqual([]);
}

// ── llama2.c ─────────────────────────────────────────────────────────────

/** Every Float32Array reachable from `weights`, with its path. */
function* arrays(o: unknown, at = 'weights'): Generator<[string, Float32Array]> {
  if (o instanceof Float32Array) yield [at, o];
  // A 16-bit weight kept as stored: checked through its decoded values.
  else if (o && typeof o === 'object' && 'bits' in o && o.bits instanceof Uint16Array)
    yield [at, toFloat32(o as HalfArray)];
  else if (o && typeof o === 'object') for (const [k, v] of Object.entries(o)) yield* arrays(v, `${at}.${k}`);
}

/** No weight holds NaN or ±Infinity. */
export function expectFiniteWeights(weights: unknown): void {
  for (const [at, a] of arrays(weights)) {
    const bad = a.findIndex((x) => !Number.isFinite(x));
    expect(bad, `${at}[${bad}] = ${a[bad]}`).toBe(-1);
  }
}

/**
 * An accepted llama2.c checkpoint has dims within the reader's limits, weights sized by them and
 * finite, and writes back (same version) to a file that parses to the same weights.
 */
export function expectSoundLlama2c(ck: Llama2cCheckpoint): void {
  const c = ck.config;
  for (const [v, max] of [
    [c.dim, 1 << 16],
    [c.hiddenDim, 1 << 18],
    [c.nLayers, 1 << 10],
    [c.nHeads, 1 << 10],
    [c.nKvHeads, 1 << 10],
    [c.vocabSize, 1 << 22],
    [c.seqLen, 1 << 20],
  ] as const) {
    expect(Number.isSafeInteger(v) && v >= 1 && v <= max).toBe(true);
  }
  expect(c.dim % c.nHeads).toBe(0);
  expect(c.nHeads % c.nKvHeads).toBe(0);
  expect(c.headDim % 2).toBe(0);
  expect(ck.weights.tokEmbeddings.length).toBe(c.vocabSize * c.dim);
  expect(ck.weights.layers.length).toBe(c.nLayers);
  expectFiniteWeights(ck.weights);
  const again = parseLlama2c(writeLlama2c(c, ck.weights, { version: ck.version }), 'again.bin');
  expect(again.config).toEqual(c);
  const a = [...arrays(again.weights)];
  const b = [...arrays(ck.weights)];
  expect(a.map(([k]) => k)).toEqual(b.map(([k]) => k));
  a.forEach(([k, x], i) => expect(Buffer.compare(bytesOf(x), bytesOf(b[i]![1])), k).toBe(0));
}

const bytesOf = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

// ── tokenizers ───────────────────────────────────────────────────────────

/**
 * Encode `text` with an accepted tokenizer: ids are integers in [0, vocabSize) or the text is
 * refused with an InputError naming the tokenizer or the text; decoding the ids, and each id's
 * piece, works. Returns the ids (or null when refused).
 */
export function encodeSoundly(tok: Tokenizer, text: string): Int32Array | null {
  let ids: Int32Array;
  try {
    ids = tok.encode(text, { source: 'sample.txt' });
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    expectClearError(e, [tok.fileName, 'sample.txt', 'tokenizer_config.json', 'config.json']);
    return null;
  }
  for (const id of ids) {
    expect(Number.isInteger(id) && id >= 0 && id < tok.vocabSize, `id ${id} of ${tok.vocabSize}`).toBe(true);
  }
  expect(typeof tok.decodeAll(ids)).toBe('string');
  let prev = tok.documentToken;
  for (const id of ids) {
    expect(typeof tok.piece(id)).toBe('string');
    expect(tok.decodeBytes(prev, id)).toBeInstanceOf(Uint8Array);
    prev = id;
  }
  return ids;
}

/**
 * An accepted llama2.c tokenizer has at least BOS and EOS, finite scores, pieces within
 * max_token_length; it encodes the sample texts soundly, and back exactly when the vocabulary
 * reads them as text (no BOS/EOS pieces produced from text).
 */
export function expectSoundLlama2cTokenizer(tok: Llama2cTokenizer): void {
  expect(tok.vocabSize, 'a vocabulary without BOS (1) and EOS (2)').toBeGreaterThan(EOS);
  expect(tok.scores.length).toBe(tok.vocabSize);
  const bad = tok.scores.findIndex((x) => !Number.isFinite(x));
  expect(bad, `score ${bad} is ${tok.scores[bad]}`).toBe(-1);
  for (const p of tok.pieces) expect(p.length).toBeLessThanOrEqual(tok.maxTokenLength);
  for (const text of SAMPLE_TEXTS) {
    const ids = encodeSoundly(tok, text);
    if (!ids) continue;
    expect(ids[0]).toBe(BOS);
    if (ids.subarray(1).every((id) => id !== BOS && id !== EOS)) expect(tok.decodeAll(ids)).toBe(text);
  }
}

/** An accepted HF tokenizer's special tokens lie in its vocabulary and it encodes the samples soundly. */
export function expectSoundHfTokenizer(tok: HfTokenizer): void {
  const inVocab = (id: number | null) =>
    id === null || (Number.isInteger(id) && id >= 0 && id < tok.vocabSize);
  const size = tok.vocabSize;
  expect(Number.isSafeInteger(size) && size >= 1 && size <= 2 ** 24, `vocabSize ${size}`).toBe(true);
  expect(tok.baseVocabSize).toBeLessThanOrEqual(tok.vocabSize);
  for (const id of [tok.documentToken, tok.bos, tok.eos, tok.pad, ...tok.stopTokens]) {
    expect(inVocab(id), `special token ${id} of ${tok.vocabSize}`).toBe(true);
  }
  expect(tok.isSpecial(tok.documentToken)).toBe(true);
  for (const text of SAMPLE_TEXTS) encodeSoundly(tok, text);
}

// ── config.json, model folders, HF checkpoints ──────────────────────────

/**
 * The parameters a config's tensor table holds, from the tables of its 1- and 2-layer versions
 * (globals + layers × one layer), so a config of 1,024 layers × 64 experts costs no more than 2.
 */
export function tableParameters(parsed: HfModelConfig): number {
  const { config, spec } = parsed;
  // Builds before the architecture registry (commit 3cd67a5) read Llama and Mixtral only.
  if (!spec)
    return [...hfTensorShapes(config).values()].reduce((n, sh) => n + sh.reduce((m, d) => m * d, 1), 0);
  const count = (c: LlamaConfig) =>
    spec.tensors(c).reduce((n, e) => n + e.shape.reduce((m: number, d: number) => m * d, 1), 0);
  const withLayers = (n: number): LlamaConfig => ({
    ...config,
    nLayers: n,
    ...(config.block ? { block: { ...config.block, layers: config.block.layers.slice(0, n) } } : {}),
  });
  if (config.nLayers <= 2) return count(config);
  const one = count(withLayers(1));
  const two = count(withLayers(2));
  return 2 * one - two + config.nLayers * (two - one);
}

/**
 * An accepted config says what the file says (sizes), every value the forward uses lies in its
 * plausible range, and the tensors it implies number at most 2^35 parameters.
 */
export function expectSoundConfig(parsed: HfModelConfig, raw: Record<string, unknown>): void {
  const c = parsed.config;
  const pos = (v: number) => Number.isSafeInteger(v) && v >= 1;
  for (const v of [
    c.dim,
    c.hiddenDim,
    c.nLayers,
    c.nHeads,
    c.nKvHeads,
    c.vocabSize,
    c.seqLen,
    c.headDim,
    c.kvDim,
  ]) {
    expect(pos(v), `size ${v}`).toBe(true);
  }
  const gpt2 = parsed.architecture === 'GPT2LMHeadModel';
  expect(c.dim).toBe(gpt2 ? raw.n_embd : raw.hidden_size);
  expect(c.nLayers).toBe(gpt2 ? raw.n_layer : raw.num_hidden_layers);
  expect(c.vocabSize).toBe(raw.vocab_size);
  expect(c.nHeads % c.nKvHeads).toBe(0);
  expect(c.kvDim).toBe(c.nKvHeads * c.headDim);
  expect(c.seqLen).toBeGreaterThanOrEqual(8);
  expect(c.normEps >= 1e-12 && c.normEps < 0.1, `eps ${c.normEps}`).toBe(true);
  const theta = (t: number) => expect(t >= 1 && t <= 1e12, `rope theta ${t}`).toBe(true);
  theta(c.ropeTheta);
  if (c.moe) {
    expect(pos(c.moe.nExperts) && pos(c.moe.topK) && c.moe.topK <= c.moe.nExperts).toBe(true);
  }
  const b = c.block;
  if (b) {
    expect(b.layers.length).toBe(c.nLayers);
    for (const l of b.layers) {
      theta(l.ropeTheta);
      if (l.window !== null) expect(pos(l.window) && l.window < c.seqLen).toBe(true);
      const s = l.ropeScaling;
      if (s) {
        for (const v of Object.values(s))
          if (typeof v === 'number') expect(v > 0 && v <= 2 ** 24, `rope_scaling ${v}`).toBe(true);
      }
    }
    if (b.positions.kind === 'rope') {
      const r = b.positions.rotaryDim;
      expect(pos(r) && r % 2 === 0 && r <= c.headDim).toBe(true);
    }
    for (const v of [
      b.attnScale,
      b.attnSoftcap,
      b.finalSoftcap,
      b.embedScale,
      b.residualScale,
      b.logitScale,
    ]) {
      if (v !== undefined) expect(Number.isFinite(v) && v >= 1e-6 && v <= 1e6, `block scale ${v}`).toBe(true);
    }
  }
  const params = tableParameters(parsed);
  expect(params, `${params.toExponential(2)} parameters`).toBeLessThanOrEqual(MAX_PARAMETERS);
}

/**
 * An accepted plan reads only given files, each once: the config and tokenizer by their names,
 * model.safetensors or every shard 1..N exactly once; a llama2.c checkpoint and its tokenizer.
 */
export function expectSoundPlan(plan: ModelFilePlan, names: readonly string[]): void {
  const base = (n: string) => n.split(/[\\/]/).pop()!;
  const files =
    plan.format === 'llama2c'
      ? [plan.model, plan.tokenizer]
      : [
          plan.config,
          ...plan.weights,
          plan.tokenizer,
          ...(plan.tokenizerConfig ? [plan.tokenizerConfig] : []),
        ];
  for (const f of files) expect(names).toContain(f);
  expect(new Set(files).size).toBe(files.length);
  if (plan.format === 'llama2c') {
    expect(plan.model.endsWith('.bin') && !/tok/i.test(base(plan.model))).toBe(true);
    expect(plan.tokenizer.endsWith('.bin') && /tok/i.test(base(plan.tokenizer))).toBe(true);
    return;
  }
  expect(base(plan.config)).toBe('config.json');
  expect(base(plan.tokenizer) === 'tokenizer.json' || plan.tokenizer.endsWith('.bin')).toBe(true);
  const shards = plan.weights.map((w) => /^model-(\d+)-of-(\d+)\.safetensors$/.exec(base(w)));
  if (shards.every((m) => m !== null) && shards.length > 0) {
    const total = Number(shards[0]![2]);
    expect(shards.every((m) => Number(m![2]) === total)).toBe(true);
    expect(shards.map((m) => Number(m![1])).sort((x, y) => x - y)).toEqual(
      Array.from({ length: total }, (_, i) => i + 1),
    );
  } else {
    expect(plan.weights.length).toBe(1);
    expect(plan.weights[0]!.endsWith('.safetensors')).toBe(true);
  }
}

/** An accepted HF checkpoint holds finite weights, as many as its tensor table says. */
export function expectSoundCheckpoint(ck: HfCheckpoint, parsed: HfModelConfig): void {
  expectFiniteWeights(ck.weights);
  expect(ck.config).toBe(parsed.config);
  const held = [...arrays(ck.weights)].reduce((n, [, a]) => n + a.length, 0);
  expect(held).toBe(tableParameters(parsed));
}

// ── SAE files ────────────────────────────────────────────────────────────

/**
 * An accepted SAE has finite parameters sized by its config, a k within d_sae, and exports to
 * files that import to the same parameters.
 */
export function expectSoundSae(r: SaeLensImport): void {
  const { cfg, params } = r;
  const { dIn, dSae } = cfg;
  expect(params.wEnc.length).toBe(dIn * dSae);
  expect(params.wDec.length).toBe(dSae * dIn);
  expect(params.bEnc.length).toBe(dSae);
  expect(params.bDec.length).toBe(dIn);
  expectFiniteWeights({ wEnc: params.wEnc, bEnc: params.bEnc, wDec: params.wDec, bDec: params.bDec });
  if (params.logThreshold) {
    expect(params.logThreshold.length).toBe(dSae);
    // θ = exp(log θ) ≥ 0 is what the forward uses: log θ may be −∞ (θ = 0), never NaN or +∞.
    expect(params.logThreshold.every((t) => t < Infinity && !Number.isNaN(t))).toBe(true);
  }
  if (cfg.kind === 'topk') expect(cfg.k! >= 1 && cfg.k! <= dSae).toBe(true);
  const back = importSaeLens(exportSaeLens(cfg, params, { modelName: r.modelName ?? 'm' }), {
    dIn,
    hookName: cfg.hookName,
  });
  expect(back.cfg.kind).toBe(cfg.kind);
  expect(Buffer.compare(bytesOf(back.params.wEnc), bytesOf(params.wEnc))).toBe(0);
  expect(Buffer.compare(bytesOf(back.params.bEnc), bytesOf(params.bEnc))).toBe(0);
  expect(Buffer.compare(bytesOf(back.params.wDec), bytesOf(params.wDec))).toBe(0);
  expect(Buffer.compare(bytesOf(back.params.bDec), bytesOf(params.bDec))).toBe(0);
}

/** An accepted zip gives named files' bytes. */
export function expectSoundZip(files: Record<string, Uint8Array>): void {
  for (const [name, bytes] of Object.entries(files)) {
    expect(typeof name).toBe('string');
    expect(bytes).toBeInstanceOf(Uint8Array);
  }
}

/** An accepted ITDA width is a small positive integer. */
export function expectSoundItdaK(k: number): void {
  expect(Number.isSafeInteger(k) && k >= 1 && k <= 4096, `ITDA k ${k}`).toBe(true);
}
