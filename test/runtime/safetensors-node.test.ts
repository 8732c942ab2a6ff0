/**
 * The lazily read safetensors file (runtime/formats/safetensors-node.ts): the same tensors, values
 * and errors as the in-memory reader, without the file in memory; and the lean load path it feeds
 * (`LlamaModel.load` with `transfer`), checked on every architecture fixture.
 */
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createCpuBackend } from '../../kernels/cpu-backend';
import { cpu } from '../../kernels/cpu-tensor';
import { ModelFormatError } from '../../runtime/errors';
import { hfCheckpoint } from '../../runtime/formats/hf-checkpoint';
import { parseHfConfig } from '../../runtime/formats/hf-config';
import { parseSafetensors } from '../../runtime/formats/safetensors';
import { openSafetensorsFile, readHfCheckpoint } from '../../runtime/formats/safetensors-node';
import { writeSafetensors } from '../../runtime/formats/safetensors-write';
import { LlamaModel } from '../../runtime/model/llama';
import type { RowChunks } from '../../runtime/model/row-chunks';
import { isHalf, weightLength, type WeightArray } from '../../kernels/weight-dtype';
import { ARCH_FIXTURES, readArchFixture } from '../helpers/arch-fixtures';

/** The array a weight is held in: float32 values or 16-bit bits. */
const bitsOf = (w: WeightArray): ArrayBufferView => (isHalf(w) ? w.bits : w);

const dir = mkdtempSync(path.join(os.tmpdir(), 'sparsebook-st-node-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Bitwise equality of two typed arrays (vitest's deep equality is slow on millions of elements). */
function sameBits(a: ArrayBufferView, b: ArrayBufferView): boolean {
  const bytes = (x: ArrayBufferView) => Buffer.from(x.buffer, x.byteOffset, x.byteLength);
  return bytes(a).equals(bytes(b));
}

const values = Float32Array.from({ length: 3 * 1024 * 1024 + 5 }, (_, i) => Math.sin(i * 0.37) * 3);

describe('openSafetensorsFile', () => {
  // Larger than the 1 MiB conversion chunk, so chunk boundaries are crossed.
  const file = path.join(dir, 'all.safetensors');
  const bytes = writeSafetensors(
    [
      { name: 'f32', dtype: 'F32', shape: [values.length], data: values },
      { name: 'f16', dtype: 'F16', shape: [values.length], data: values },
      { name: 'bf16', dtype: 'BF16', shape: [values.length], data: values },
      { name: 'f64', dtype: 'F64', shape: [5, 3], data: values.subarray(0, 15) },
      { name: 'i64', dtype: 'I64', shape: [4], data: [1, -2, 3, 2 ** 31 - 1] },
      { name: 'u8', dtype: 'U8', shape: [3], data: [0, 7, 255] },
      { name: 'empty', dtype: 'F32', shape: [0, 4], data: [] },
    ],
    { format: 'pt' },
  );
  writeFileSync(file, bytes);
  const mem = parseSafetensors(bytes, 'all.safetensors');

  it('reads every tensor as the in-memory reader does, into arrays it does not share', () => {
    const st = openSafetensorsFile(file);
    try {
      expect(st.inMemory).toBe(false);
      expect(mem.inMemory).toBe(true);
      expect(st.fileName).toBe('all.safetensors');
      expect(st.metadata).toEqual({ format: 'pt' });
      expect([...st.tensors.values()]).toEqual([...mem.tensors.values()]);
      for (const name of ['f32', 'f16', 'bf16', 'f64', 'empty']) {
        const lazy = st.float32(name);
        const inMemory = mem.float32(name);
        expect(lazy.length).toBe(inMemory.length);
        expect(sameBits(lazy, inMemory), name).toBe(true);
        expect(lazy.byteOffset).toBe(0);
        expect(lazy.buffer.byteLength).toBe(lazy.byteLength); // its own buffer, nothing more
      }
      expect(st.float32('f32') === st.float32('f32')).toBe(false);
      expect(st.int32('i64')).toEqual(Int32Array.of(1, -2, 3, 2 ** 31 - 1));
      expect(st.int32('u8')).toEqual(mem.int32('u8'));
      expect(sameBits(st.raw('bf16'), mem.raw('bf16'))).toBe(true);
    } finally {
      st.close();
    }
  });

  it('fails reads after close, naming the file', () => {
    const st = openSafetensorsFile(file);
    st.close();
    st.close(); // idempotent
    expect(() => st.float32('f32')).toThrow(ModelFormatError);
    expect(() => st.float32('f32')).toThrow(/^all\.safetensors: read after the file was closed/);
  });

  it('validates the header as the in-memory reader does', () => {
    const cut = path.join(dir, 'cut.safetensors');
    writeFileSync(cut, bytes.subarray(0, bytes.length - 100));
    const expected = (() => {
      try {
        parseSafetensors(bytes.subarray(0, bytes.length - 100), 'cut.safetensors');
      } catch (e) {
        return (e as Error).message;
      }
      throw new Error('expected the in-memory reader to refuse the truncated file');
    })();
    expect(expected).toMatch(/past the end of the .*data section \(truncated file\?\)/);
    expect(() => openSafetensorsFile(cut)).toThrow(expected);
    writeFileSync(cut, Uint8Array.of(1, 2, 3));
    expect(() => openSafetensorsFile(cut)).toThrow(/^cut\.safetensors: truncated safetensors file: 3 bytes/);
    expect(() => openSafetensorsFile(path.join(dir, 'missing.safetensors'))).toThrow(
      /^missing\.safetensors: cannot open .* \(ENOENT\)/,
    );
  });

  it('reports a file that shrank after it was opened', () => {
    const shrink = path.join(dir, 'shrink.safetensors');
    writeFileSync(shrink, bytes);
    const st = openSafetensorsFile(shrink);
    try {
      truncateSync(shrink, 4096);
      expect(() => st.float32('bf16')).toThrow(
        /^shrink\.safetensors: truncated safetensors file: .* found its end/,
      );
    } finally {
      st.close();
    }
  });
});

describe('readHfCheckpoint', () => {
  it('reads what the explicit steps read, and names a file it cannot read', () => {
    const folder = 'test/fixtures/arch/qwen3';
    const weights = [`${folder}/model.safetensors`];
    expect(() => readHfCheckpoint(path.join(dir, 'config.json'), weights)).toThrow(
      /^config\.json: cannot read .* \(ENOENT\)/,
    );
    const wrong = path.join(dir, 'config.json');
    writeFileSync(wrong, readFileSync('test/fixtures/arch/gpt2/config.json'));
    expect(() => readHfCheckpoint(wrong, weights)).toThrow(ModelFormatError);
    const st = openSafetensorsFile(weights[0]!);
    const explicit = hfCheckpoint(parseHfConfig(readFileSync(`${folder}/config.json`), 'config.json'), [st]);
    st.close();
    const lazy = readHfCheckpoint(`${folder}/config.json`, weights);
    expect(lazy.storedDtypes).toEqual(['BF16']);
    expect(sameBits(bitsOf(lazy.weights.tokEmbeddings), bitsOf(explicit.weights.tokEmbeddings))).toBe(true);
  });
});

describe('the lean load path on every architecture fixture', () => {
  it.each(ARCH_FIXTURES)(
    "%s: lazily read + transferred weights give the copied model's logits",
    async (name) => {
      const fixture = await readArchFixture(name, (rel) => Promise.resolve(readFileSync(rel)));
      const b = createCpuBackend();
      const copied = LlamaModel.load(b, fixture.checkpoint);
      const folder = `test/fixtures/arch/${name}`;
      const ckpt = readHfCheckpoint(`${folder}/config.json`, [`${folder}/model.safetensors`]);
      expect(ckpt.storedDtypes).toEqual(fixture.checkpoint.storedDtypes);
      const emb = ckpt.weights.tokEmbeddings;
      const lean = LlamaModel.load(b, ckpt, { transfer: true });
      // Handed over: the checkpoint keeps nothing, and the embedding tensor IS the array read.
      expect(weightLength(ckpt.weights.tokEmbeddings)).toBe(0);
      expect(ckpt.weights.layers.every((l) => weightLength(l.wq) === 0 && weightLength(l.w2) === 0)).toBe(
        true,
      );
      const [a, c] = [await copied.forward(fixture.tokens), await lean.forward(fixture.tokens)];
      expect(sameBits(cpu(c).data, cpu(a).data)).toBe(true);
      expect(() => LlamaModel.load(b, ckpt, { transfer: true })).toThrow(/handed to a model already/);
      // One row block (nothing to split on the CPU), holding the very array read (16-bit bits kept).
      const embTensor = (lean as unknown as { tokEmbeddings: RowChunks }).tokEmbeddings.parts;
      expect(embTensor).toHaveLength(1);
      expect(cpu(embTensor[0]!.tensor).data === bitsOf(emb)).toBe(true);
      expect(lean.weightPrecision.stored).toEqual(ckpt.storedDtypes);
    },
  );
});
