/**
 * Model folders for hub tests, made at test time from the architecture fixtures or at random: a
 * sharded copy (model.safetensors.index.json + shards, as save_pretrained writes them), a copy
 * with 16-bit weights, and a GPT-2-shaped checkpoint of any size with random F16 weights written
 * to disk piece by piece (the 250 MB GPT-2-small shape never sits in memory whole).
 */
import {
  closeSync,
  copyFileSync,
  mkdirSync,
  openSync,
  readFileSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { parseSafetensors } from '../../runtime/formats/safetensors';
import { f32ToF16Bits, type SafetensorsDtype } from '../../runtime/formats/safetensors-dtypes';
import { writeSafetensors, type SafetensorsTensorInput } from '../../runtime/formats/safetensors-write';
import { byteTokenizerJson, gpt2TokenizerJson } from './hf-tokenizers';

const SMALL_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json'];

function tensorsOf(file: string, dtype?: SafetensorsDtype): SafetensorsTensorInput[] {
  const st = parseSafetensors(readFileSync(file), path.basename(file));
  return [...st.tensors.keys()].map((n) => {
    const info = st.info(n);
    const float = ['F32', 'F16', 'BF16', 'F64'].includes(info.dtype);
    return float
      ? { name: n, dtype: dtype ?? info.dtype, shape: info.shape, data: st.float32(n) }
      : { name: n, dtype: info.dtype, shape: info.shape, data: st.int32(n) };
  });
}

function copySmallFiles(src: string, dest: string): void {
  mkdirSync(dest, { recursive: true });
  for (const f of SMALL_FILES) copyFileSync(path.join(src, f), path.join(dest, f));
}

/**
 * `src`'s model.safetensors split into `parts` shards with an index, in `dest`.
 *
 * @example
 * shardedCopy('test/fixtures/arch/gpt2', path.join(tmp, 'gpt2-sharded'));
 */
export function shardedCopy(src: string, dest: string, parts = 2): string {
  copySmallFiles(src, dest);
  const tensors = tensorsOf(path.join(src, 'model.safetensors')).sort((a, b) => a.name.localeCompare(b.name));
  const per = Math.ceil(tensors.length / parts);
  const weightMap: Record<string, string> = {};
  for (let i = 0; i < parts; i++) {
    const file = `model-${String(i + 1).padStart(5, '0')}-of-${String(parts).padStart(5, '0')}.safetensors`;
    const part = tensors.slice(i * per, (i + 1) * per);
    for (const t of part) weightMap[t.name] = file;
    writeFileSync(path.join(dest, file), writeSafetensors(part));
  }
  writeFileSync(
    path.join(dest, 'model.safetensors.index.json'),
    JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }),
  );
  return dest;
}

/** `src` with its float weights stored as `dtype` (F16 or BF16), in `dest`. */
export function dtypeCopy(src: string, dest: string, dtype: 'F16' | 'BF16'): string {
  copySmallFiles(src, dest);
  writeFileSync(
    path.join(dest, 'model.safetensors'),
    writeSafetensors(tensorsOf(path.join(src, 'model.safetensors'), dtype)),
  );
  return dest;
}

export interface Gpt2Shape {
  nLayer: number;
  nEmbd: number;
  nHead: number;
  vocab: number;
  nPositions: number;
}

/** GPT-2 small: 124 M parameters, 248 MB in F16. */
export const GPT2_SMALL: Gpt2Shape = { nLayer: 12, nEmbd: 768, nHead: 12, vocab: 50257, nPositions: 1024 };

/** What `writeRandomGpt2` wrote. */
export interface RandomGpt2 {
  dir: string;
  /** Bytes of model.safetensors. */
  fileBytes: number;
  /** The largest tensor (wte): its name, its bytes in the file (F16) and as float32. */
  largest: { name: string; storedBytes: number; f32Bytes: number };
  parameters: number;
}

/**
 * A GPT-2-shaped HF folder with random F16 weights (|w| < 0.1, so every value is finite), written
 * tensor by tensor. With `vocab` 50257 the tokenizer is GPT-2's own; otherwise a byte-level one.
 *
 * @example
 * const m = writeRandomGpt2(dir, GPT2_SMALL); // m.fileBytes ≈ 249 MB, m.largest.f32Bytes ≈ 154 MB
 */
export function writeRandomGpt2(dir: string, s: Gpt2Shape, seed = 1): RandomGpt2 {
  mkdirSync(dir, { recursive: true });
  const d = s.nEmbd;
  const entries: [string, number[]][] = [
    ['wte.weight', [s.vocab, d]],
    ['wpe.weight', [s.nPositions, d]],
  ];
  for (let l = 0; l < s.nLayer; l++) {
    const h = `h.${l}.`;
    entries.push(
      [`${h}ln_1.weight`, [d]],
      [`${h}ln_1.bias`, [d]],
      [`${h}attn.c_attn.weight`, [d, 3 * d]],
      [`${h}attn.c_attn.bias`, [3 * d]],
      [`${h}attn.c_proj.weight`, [d, d]],
      [`${h}attn.c_proj.bias`, [d]],
      [`${h}ln_2.weight`, [d]],
      [`${h}ln_2.bias`, [d]],
      [`${h}mlp.c_fc.weight`, [d, 4 * d]],
      [`${h}mlp.c_fc.bias`, [4 * d]],
      [`${h}mlp.c_proj.weight`, [4 * d, d]],
      [`${h}mlp.c_proj.bias`, [d]],
    );
  }
  entries.push(['ln_f.weight', [d]], ['ln_f.bias', [d]]);
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const [name, shape] of entries) {
    const bytes = shape.reduce((a, b) => a * b, 1) * 2;
    header[name] = { dtype: 'F16', shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const fd = openSync(path.join(dir, 'model.safetensors'), 'w');
  try {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    writeSync(fd, len);
    writeSync(fd, Buffer.from(json));
    // A block of random F16 values, written over and over at a moving start.
    let a = seed >>> 0;
    const rand = () => {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = Math.imul(a ^ (a >>> 15), a | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
    };
    const block = new Uint16Array(1 << 16);
    for (let i = 0; i < block.length; i++) block[i] = f32ToF16Bits(rand() * 0.2);
    const out = Buffer.alloc(4 << 20);
    for (const [name, shape] of entries) {
      let n = shape.reduce((x, y) => x * y, 1);
      const norm = /ln_\d\.weight|ln_f\.weight/.test(name);
      while (n > 0) {
        const m = Math.min(n, out.byteLength / 2);
        const u16 = new Uint16Array(out.buffer, out.byteOffset, m);
        const start = Math.floor(rand() * 0.5 * block.length + block.length / 2);
        for (let i = 0; i < m; i++) u16[i] = norm ? 0x3c00 : block[(start + i) & 0xffff]!;
        writeSync(fd, out, 0, m * 2);
        n -= m;
      }
    }
  } finally {
    closeSync(fd);
  }
  const gpt2 = s.vocab >= 50257;
  const eos = gpt2 ? 50256 : 0;
  writeFileSync(
    path.join(dir, 'config.json'),
    JSON.stringify({
      architectures: ['GPT2LMHeadModel'],
      model_type: 'gpt2',
      activation_function: 'gelu_new',
      n_layer: s.nLayer,
      n_embd: d,
      n_head: s.nHead,
      n_inner: null,
      n_positions: s.nPositions,
      n_ctx: s.nPositions,
      vocab_size: s.vocab,
      layer_norm_epsilon: 1e-5,
      bos_token_id: eos,
      eos_token_id: eos,
      torch_dtype: 'float16',
    }),
  );
  writeFileSync(path.join(dir, 'tokenizer.json'), gpt2 ? gpt2TokenizerJson() : byteTokenizerJson());
  writeFileSync(
    path.join(dir, 'tokenizer_config.json'),
    JSON.stringify({
      bos_token: '<|endoftext|>',
      eos_token: '<|endoftext|>',
      model_max_length: s.nPositions,
    }),
  );
  const parameters = entries.reduce((n, [, shape]) => n + shape.reduce((x, y) => x * y, 1), 0);
  return {
    dir,
    fileBytes: 8 + json.length + offset,
    largest: { name: 'wte.weight', storedBytes: s.vocab * d * 2, f32Bytes: s.vocab * d * 4 },
    parameters,
  };
}
