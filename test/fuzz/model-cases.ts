/**
 * One fuzz input of a model-file parser as a small JSON-able descriptor (a real seed file and the
 * edit applied to it, or a hostile input built from scratch), the fast-check arbitraries that
 * generate them, and `buildCase`, which turns a descriptor into the parse to run, the files its
 * error may name, and the soundness check of an accepted result. The fuzz tests
 * (*.fuzz.test.ts), the corpus replay (corpus-models.test.ts, corpus/<parser>/*.json) and the
 * before/after measurement (measure-model-parsers.ts) all run cases through here, so a
 * counterexample printed by a test is a corpus entry as it stands.
 *
 * The parsers are imported dynamically: the measurement also runs on the code before the fuzzing
 * fixes (commit 3cd67a5), which has no HF tokenizer, no architecture registry and no ITDA reader.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import { parseSafetensors } from '../../runtime/formats/safetensors';
import { writeSafetensors, type SafetensorsTensorInput } from '../../runtime/formats/safetensors-write';
import {
  applyBytes,
  applyCheckpointEdit,
  applyHeaderEdit,
  applyJsonEdit,
  applyText,
  applyTokenizerEdit,
  applyZipEdit,
  ARCH_NAMES,
  archFiles,
  byteEditArb,
  checkpointEditArb,
  checkpointTensorEditArb,
  configEditArb,
  exportedSaes,
  fileNamesArb,
  headerEditArb,
  hostileSafetensorsArb,
  hostileTokenizerArb,
  HOSTILE_FLOATS,
  lenmlLlama2,
  SAE_HOOK,
  saeCfgEditArb,
  saeParams,
  stories260K,
  stories260Kv1,
  textEditArb,
  tok512,
  tokenizerEditArb,
  tokenizerJsonEditArb,
  zipEditArb,
  type ArchName,
  type ByteEdit,
  type CheckpointEdit,
  type CheckpointTensorEdit,
  type HeaderEdit,
  type JsonEdit,
  type TextEdit,
  type TokenizerEdit,
  type ZipEdit,
} from './model-inputs';
import type { InputError } from '../../runtime/errors';
import * as oracles from './model-oracles';
import type { RssPeak } from './rss-peak';

export const MODEL_PARSERS = [
  'safetensors',
  'llama2c',
  'llama2c-tokenizer',
  'hf-tokenizer',
  'hf-config',
  'model-files',
  'hf-checkpoint',
  'sae',
] as const;
export type ModelParser = (typeof MODEL_PARSERS)[number];

type TokenizerFile = 'tokenizer' | 'tokenizerConfig' | 'config';
type SaeParamName = 'wEnc' | 'bEnc' | 'wDec' | 'bDec';

/** A fuzz input: the parser, the seed, and the edit (or the raw input, base64, when built from scratch). */
export type ModelCase =
  | {
      parser: 'safetensors';
      arch: ArchName;
      bytes?: ByteEdit;
      inHeader?: boolean;
      header?: HeaderEdit;
      raw?: string;
    }
  | { parser: 'llama2c'; v1?: boolean; edit?: CheckpointEdit; raw?: string }
  | { parser: 'llama2c-tokenizer'; edit?: TokenizerEdit; raw?: string }
  | {
      parser: 'hf-tokenizer';
      arch: ArchName | 'lenml-llama2';
      text?: { file: TokenizerFile; edit: TextEdit };
      json?: JsonEdit[];
    }
  | { parser: 'hf-config'; arch?: ArchName; json?: JsonEdit[]; text?: TextEdit; raw?: string }
  | { parser: 'model-files'; names: string[] }
  | { parser: 'hf-checkpoint'; arch: ArchName; edit: CheckpointTensorEdit }
  | {
      parser: 'sae';
      sae: number;
      strict?: boolean;
      cfg?: JsonEdit[];
      bytes?: ByteEdit;
      header?: HeaderEdit;
      fill?: { names: SaeParamName[]; value: string; fold: boolean };
      zip?: ZipEdit;
      itda?: string;
    };

/** A case ready to run: what its refusal may name, the parse, and the check of an accepted value. */
export interface BuiltCase {
  files: string[];
  parse: () => unknown;
  /** Throws (an AssertionError) when an accepted value is unsound. */
  sound: (value: unknown) => void;
  memoryMib?: number;
}

// ── generators ───────────────────────────────────────────────────────────

const arch = fc.constantFrom(...ARCH_NAMES);
const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

/** The fuzz inputs of `parser`, in the mix the tests and the measurement use. */
export function caseArb(parser: ModelParser): fc.Arbitrary<ModelCase> {
  switch (parser) {
    case 'safetensors':
      return fc.oneof(
        fc.record({ parser: fc.constant(parser), arch, bytes: byteEditArb(), inHeader: fc.boolean() }),
        fc.record({ parser: fc.constant(parser), arch, header: headerEditArb() }),
        fc.record({ parser: fc.constant(parser), arch, raw: hostileSafetensorsArb().map(b64) }),
      );
    case 'llama2c': {
      const header = fc
        .tuple(
          fc.array(fc.oneof(fc.integer(), fc.constantFrom(0, 64, 512, -512, 0x616b3432, 1)), {
            maxLength: 12,
          }),
          fc.uint8Array({ maxLength: 64 }),
        )
        .map(([ints, tail]) => {
          const bytes = new Uint8Array(ints.length * 4 + tail.length);
          const view = new DataView(bytes.buffer);
          ints.forEach((v, i) => view.setInt32(i * 4, v, true));
          bytes.set(tail, ints.length * 4);
          return b64(bytes);
        });
      return fc.oneof(
        {
          weight: 3,
          arbitrary: fc.record({ parser: fc.constant(parser), v1: fc.boolean(), edit: checkpointEditArb() }),
        },
        { weight: 1, arbitrary: fc.record({ parser: fc.constant(parser), raw: header }) },
      );
    }
    case 'llama2c-tokenizer':
      return fc.oneof(
        { weight: 3, arbitrary: fc.record({ parser: fc.constant(parser), edit: tokenizerEditArb() }) },
        {
          weight: 1,
          arbitrary: fc.record({ parser: fc.constant(parser), raw: hostileTokenizerArb().map(b64) }),
        },
      );
    case 'hf-tokenizer': {
      const file = fc.constantFrom<TokenizerFile>('tokenizer', 'tokenizerConfig', 'config');
      return fc.oneof(
        fc.record({ parser: fc.constant(parser), arch, text: fc.record({ file, edit: textEditArb() }) }),
        fc.record({
          parser: fc.constant(parser),
          arch,
          json: fc.array(tokenizerJsonEditArb(), { minLength: 1, maxLength: 3 }),
        }),
      );
    }
    case 'hf-config':
      return fc.oneof(
        {
          weight: 4,
          arbitrary: fc.record({
            parser: fc.constant(parser),
            arch,
            json: fc.array(configEditArb(), { minLength: 1, maxLength: 4 }),
          }),
        },
        { weight: 2, arbitrary: fc.record({ parser: fc.constant(parser), arch, json: bigConfigArb() }) },
        { weight: 1, arbitrary: fc.record({ parser: fc.constant(parser), arch, text: textEditArb() }) },
        {
          weight: 1,
          arbitrary: fc.record({
            parser: fc.constant(parser),
            raw: fc.oneof(fc.json({ maxDepth: 3 }), fc.string({ maxLength: 40 })),
          }),
        },
      );
    case 'model-files':
      return fc.record({ parser: fc.constant(parser), names: fileNamesArb() });
    case 'hf-checkpoint':
      return fc.record({ parser: fc.constant(parser), arch, edit: checkpointTensorEditArb() });
    case 'sae': {
      const sae = fc.nat(8);
      const strict = fc.boolean();
      const names = fc.subarray<SaeParamName>(['wEnc', 'bEnc', 'wDec', 'bDec'], { minLength: 1 });
      const value = fc.constantFrom(...HOSTILE_FLOATS.filter((v) => Number.isFinite(Number(v))));
      const itda = fc.oneof(
        fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v) ?? ''),
        fc.constantFrom(
          '{"k": 8}',
          '{"k": 0}',
          '{"k": -1}',
          '{"k": 1.5}',
          '{"k": 1e9}',
          '{"k": "8"}',
          '{',
          '',
        ),
      );
      return fc.oneof(
        {
          weight: 4,
          arbitrary: fc.record({
            parser: fc.constant(parser),
            sae,
            strict,
            cfg: fc.array(saeCfgEditArb(), { minLength: 1, maxLength: 3 }),
          }),
        },
        {
          weight: 2,
          arbitrary: fc.record({ parser: fc.constant(parser), sae, strict, bytes: byteEditArb() }),
        },
        {
          weight: 2,
          arbitrary: fc.record({ parser: fc.constant(parser), sae, strict, header: headerEditArb() }),
        },
        {
          weight: 1,
          arbitrary: fc.record({
            parser: fc.constant(parser),
            sae,
            fill: fc.record({ names, value, fold: fc.boolean() }),
          }),
        },
        { weight: 3, arbitrary: fc.record({ parser: fc.constant(parser), sae, zip: zipEditArb() }) },
        { weight: 1, arbitrary: fc.record({ parser: fc.constant(parser), sae, itda }) },
      );
    }
  }
}

/** Configs with several sizes at their limits at once: what a crafted config.json would set. */
function bigConfigArb(): fc.Arbitrary<JsonEdit[]> {
  const sizes: [string, unknown[]][] = [
    ['hidden_size', [65536, 8192, 8]],
    ['n_embd', [65536, 8192]],
    ['intermediate_size', [262144, 1]],
    ['n_inner', [262144, 1]],
    ['moe_intermediate_size', [262144, 1]],
    ['shared_expert_intermediate_size', [262144]],
    ['num_hidden_layers', [1024, 64, 1]],
    ['n_layer', [1024, 1]],
    ['num_attention_heads', [1024, 64, 1]],
    ['n_head', [1024, 1]],
    ['num_key_value_heads', [1024, 1]],
    ['head_dim', [4096, 256]],
    ['vocab_size', [4194304, 1]],
    ['max_position_embeddings', [1048576]],
    ['n_positions', [1048576]],
    ['num_experts', [1024, 64]],
    ['num_local_experts', [1024, 64]],
    ['num_experts_per_tok', [1]],
  ];
  return fc
    .subarray(sizes, { minLength: 2 })
    .chain((keys) =>
      fc.tuple(...keys.map(([k, vs]) => fc.constantFrom(...vs).map((value) => ({ path: [k], value })))),
    );
}

// ── building a case ──────────────────────────────────────────────────────

const fromB64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));
const FLOATS = ['F32', 'F16', 'BF16', 'F64'];

/** Modules that exist only in some builds (the HF tokenizer, the ITDA reader): loaded on demand. */
interface Apis {
  HfTokenizer?: typeof import('../../runtime/tokenizers/hf-tokenizer').HfTokenizer;
  readItdaK?: (note: unknown, file: string) => number;
}
let apis: Apis | undefined;
async function loadApis(): Promise<Apis> {
  if (apis) return apis;
  apis = {};
  try {
    apis.HfTokenizer = (await import('../../runtime/tokenizers/hf-tokenizer')).HfTokenizer;
  } catch {
    // not in this build
  }
  const saelens = (await import('../../analyses/sae/saelens')) as { readItdaK?: Apis['readItdaK'] };
  apis.readItdaK = saelens.readItdaK;
  return apis;
}

/** Thrown by `buildCase` when this build has no such parser (the HF tokenizer before it existed). */
export class NoSuchParser extends Error {}

/** A fixture's tensors with one edit, as safetensors shards (named as a plan would read them). */
function editedCheckpoint(a: ArchName, e: CheckpointTensorEdit): { config: string; shards: Uint8Array[] } {
  const file = parseSafetensors(archFiles(a).weights, 'model.safetensors');
  const tensors: SafetensorsTensorInput[] = [...file.tensors.values()].map((t) => ({
    name: t.name,
    dtype: t.dtype,
    shape: [...t.shape],
    data: FLOATS.includes(t.dtype) ? file.float32(t.name) : file.int32(t.name),
  }));
  const i = e.tensor % tensors.length;
  const t = tensors[i]!;
  let config = archFiles(a).config;
  switch (e.op) {
    case 'shape':
      t.shape = [...t.shape].reverse().concat(t.shape.length === 1 ? [1] : []);
      break;
    case 'flat':
      t.shape = [t.data.length];
      break;
    case 'dtype':
      t.dtype = e.dtype;
      if (e.dtype === 'I32' || e.dtype === 'U8') t.data = Array.from(t.data, () => 1);
      break;
    case 'rename':
      t.name = e.at < 0.5 ? `model.${t.name}` : `${t.name}.x`;
      break;
    case 'drop':
      tensors.splice(i, 1);
      break;
    case 'value':
      t.data = Float32Array.from(t.data);
      (t.data as Float32Array)[Math.floor(e.at * t.data.length)] = Number(e.value);
      break;
    case 'extra':
      tensors.push({ name: 'lm_head.bias', dtype: 'F32', shape: [1], data: [0] });
      break;
    case 'config': {
      const c = JSON.parse(config) as Record<string, unknown>;
      const v = c[e.key];
      c[e.key] = typeof v === 'boolean' ? !v : typeof v === 'number' ? v + (e.at < 0.5 ? 1 : -1) : 2;
      config = JSON.stringify(c);
      break;
    }
  }
  if (e.op === 'split') {
    return { config, shards: [writeSafetensors(tensors.slice(0, i)), writeSafetensors(tensors.slice(i))] };
  }
  if (e.op === 'duplicate') return { config, shards: [writeSafetensors(tensors), writeSafetensors([t])] };
  return { config, shards: [writeSafetensors(tensors)] };
}

const tryJson = (t: string): unknown => {
  try {
    return JSON.parse(t) as unknown;
  } catch {
    return undefined;
  }
};

/** Turn a descriptor into the parse to run and the check of what it accepts. */
export async function buildCase(c: ModelCase): Promise<BuiltCase> {
  const { parseLlama2c } = await import('../../runtime/formats/llama2c');
  const { Llama2cTokenizer } = await import('../../runtime/tokenizers/llama2c-tokenizer');
  const { parseHfConfig } = await import('../../runtime/formats/hf-config');
  const { planModelFiles } = await import('../../runtime/formats/model-files');
  const { hfCheckpoint } = await import('../../runtime/formats/hf-checkpoint');
  const { exportSaeLens, importSaeLens } = await import('../../analyses/sae/saelens');
  const { saeLensFiles } = await import('../../app/cells/sae/sae-view');
  const { HfTokenizer, readItdaK } = await loadApis();

  switch (c.parser) {
    case 'safetensors': {
      const seed = archFiles(c.arch).weights;
      const headerEnd = 8 + Number(new DataView(seed.buffer, seed.byteOffset).getBigUint64(0, true));
      const bytes =
        c.raw !== undefined
          ? fromB64(c.raw)
          : c.header
            ? applyHeaderEdit(seed, c.header)
            : applyBytes(seed, c.bytes!, 0, c.inHeader ? headerEnd : seed.length);
      // The spec disallows duplicate keys: whichever entry JSON.parse keeps, the file is ambiguous.
      const twice = c.header?.kind === 'duplicate';
      return {
        files: ['model.safetensors'],
        parse: () => parseSafetensors(bytes, 'model.safetensors'),
        sound: (v) => {
          expect(twice, 'a tensor listed twice was accepted').toBe(false);
          oracles.expectSoundSafetensors(v as never, bytes);
        },
      };
    }
    case 'llama2c': {
      const bytes =
        c.raw !== undefined
          ? fromB64(c.raw)
          : applyCheckpointEdit(c.v1 ? stories260Kv1() : stories260K(), c.edit!);
      return {
        files: ['stories.bin'],
        parse: () => parseLlama2c(bytes, 'stories.bin'),
        sound: (v) => oracles.expectSoundLlama2c(v as never),
      };
    }
    case 'llama2c-tokenizer': {
      const bytes = c.raw !== undefined ? fromB64(c.raw) : applyTokenizerEdit(tok512(), c.edit!);
      return {
        files: ['tok.bin'],
        parse: () => Llama2cTokenizer.load(bytes, 'tok.bin'),
        sound: (v) => oracles.expectSoundLlama2cTokenizer(v as never),
      };
    }
    case 'hf-tokenizer': {
      if (!HfTokenizer) throw new NoSuchParser('no HfTokenizer in this build');
      const seed =
        c.arch === 'lenml-llama2'
          ? { ...lenmlLlama2(), config: '{"bos_token_id": 1, "eos_token_id": 2}' }
          : (({ tokenizer, tokenizerConfig, config }) => ({ tokenizer, tokenizerConfig, config }))(
              archFiles(c.arch),
            );
      let files: Record<TokenizerFile, string> = seed;
      if (c.text) files = { ...seed, [c.text.file]: applyText(seed[c.text.file], c.text.edit) };
      if (c.json) {
        const keys = ['tokenizer', 'tokenizerConfig', 'config'] as const;
        let docs: unknown = Object.fromEntries(keys.map((k) => [k, JSON.parse(seed[k])]));
        for (const e of c.json) docs = applyJsonEdit(docs, e);
        const d = docs as Record<string, unknown>;
        files = Object.fromEntries(keys.map((k) => [k, JSON.stringify(d[k]) ?? 'null'])) as typeof files;
      }
      return {
        files: ['tokenizer.json', 'tokenizer_config.json', 'config.json'],
        parse: () => HfTokenizer.load(files),
        sound: (v) => oracles.expectSoundHfTokenizer(v as never),
        memoryMib: c.arch === 'lenml-llama2' ? 256 : undefined,
      };
    }
    case 'hf-config': {
      const seed = c.arch ? archFiles(c.arch).config : '{}';
      let text = c.raw ?? seed;
      if (c.text) text = applyText(seed, c.text);
      if (c.json)
        text = JSON.stringify(c.json.reduce<unknown>((d, e) => applyJsonEdit(d, e), JSON.parse(seed)));
      return {
        files: ['config.json'],
        parse: () => parseHfConfig(text, 'config.json'),
        sound: (v) => oracles.expectSoundConfig(v as never, tryJson(text) as Record<string, unknown>),
      };
    }
    case 'model-files': {
      const { names } = c;
      const source = names.length > 8 ? 'folder' : undefined;
      return {
        files: [source ?? (names.length ? names.join(', ') : '(no files)')],
        parse: () => planModelFiles(names, source),
        sound: (v) => oracles.expectSoundPlan(v as never, names),
      };
    }
    case 'hf-checkpoint': {
      const { config, shards } = editedCheckpoint(c.arch, c.edit);
      const names = shards.map((_, k) => `model-0000${k + 1}-of-0000${shards.length}.safetensors`);
      return {
        files: ['config.json', ...names, names.join(', ')],
        parse: () => {
          const parsed = parseHfConfig(config, 'config.json');
          return {
            parsed,
            ck: hfCheckpoint(
              parsed,
              shards.map((b, k) => parseSafetensors(b, names[k]!)),
            ),
          };
        },
        sound: (v) => {
          const { parsed, ck } = v as { parsed: never; ck: never };
          oracles.expectSoundCheckpoint(ck, parsed);
        },
      };
    }
    case 'sae': {
      const s = exportedSaes()[c.sae % exportedSaes().length]!;
      if (c.zip) {
        const zip = applyZipEdit(s.zip, c.zip);
        return {
          files: ['sae.zip'],
          parse: () => saeLensFiles('sae.zip', zip),
          sound: (v) => oracles.expectSoundZip(v as never),
        };
      }
      if (c.itda !== undefined) {
        const note = new TextEncoder().encode(c.itda);
        // Before readItdaK, the worker read the note inline: JSON.parse(...).k, unchecked.
        const read =
          readItdaK ??
          ((b: unknown) => (JSON.parse(new TextDecoder().decode(b as Uint8Array)) as { k: number }).k);
        return {
          files: ['itda.json'],
          parse: () => read(note, 'itda.json'),
          sound: (v) => oracles.expectSoundItdaK(v as number),
        };
      }
      let cfgJson = s.cfgJson;
      let weights = s.weights;
      if (c.cfg)
        cfgJson =
          JSON.stringify(c.cfg.reduce<unknown>((d, e) => applyJsonEdit(d, e), JSON.parse(cfgJson))) ?? 'null';
      if (c.bytes) weights = applyBytes(weights, c.bytes);
      if (c.header) weights = applyHeaderEdit(weights, c.header);
      if (c.fill) {
        const params = saeParams(s.cfg, 1);
        for (const name of c.fill.names) params[name].fill(Number(c.fill.value));
        const files = exportSaeLens(s.cfg, params, { modelName: 'm' });
        weights = files.weights;
        cfgJson = JSON.stringify({ ...JSON.parse(files.cfgJson), apply_b_dec_to_input: !c.fill.fold });
      }
      const expect = c.strict || c.fill ? { dIn: 8, hookName: SAE_HOOK } : {};
      return {
        files: ['cfg.json', 'sae_weights.safetensors'],
        parse: () => importSaeLens({ cfgJson, weights }, expect),
        sound: (v) => oracles.expectSoundSae(v as never),
      };
    }
  }
}

/**
 * Run a case under the fuzz oracle: a clear refusal (InputError naming one of its files) or a
 * sound accepted value, within the time and memory bounds; anything else fails the test.
 */
export async function checkCase(
  rss: RssPeak,
  c: ModelCase,
): Promise<{ value: unknown } | { error: InputError }> {
  const b = await buildCase(c);
  const out = oracles.attemptInput(rss, b.files, b.parse, b.memoryMib);
  if ('value' in out) b.sound(out.value);
  return out;
}
