import { describe, expect, it } from 'vitest';
import { InputError, ModelFormatError } from '../../runtime/errors';
import { parseSafetensors } from '../../runtime/formats/safetensors';
import {
  bf16ToF32,
  f16ToF32,
  f32ToBf16Bits,
  f32ToF16Bits,
  SAFETENSORS_DTYPE_BYTES,
} from '../../runtime/formats/safetensors-dtypes';
import { writeSafetensors } from '../../runtime/formats/safetensors-write';

const FILE = 'model.safetensors';

/** A file with this header (object or raw text) and `dataBytes` zero bytes of data. */
function raw(header: unknown, dataBytes: number, declaredLength?: bigint): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, declaredLength ?? BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

function parseError(bytes: Uint8Array, name = FILE): InputError {
  try {
    parseSafetensors(bytes, name);
  } catch (e) {
    expect(e).toBeInstanceOf(ModelFormatError);
    expect((e as InputError).file).toBe(name);
    expect((e as Error).message.startsWith(`${name}: `)).toBe(true);
    return e as InputError;
  }
  throw new Error('expected parseSafetensors to throw');
}

const values = Float32Array.from({ length: 24 }, (_, i) => Math.sin(i * 1.7) * 10 ** ((i % 7) - 3));

describe('writeSafetensors → parseSafetensors round trips', () => {
  it('F32 is exact, 8-byte aligned, and a zero-copy view', () => {
    const bytes = writeSafetensors([{ name: 'w', dtype: 'F32', shape: [4, 6], data: values }], {
      format: 'pt',
    });
    const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(headerLen % 8).toBe(0);
    const st = parseSafetensors(bytes, FILE);
    expect(st.metadata).toEqual({ format: 'pt' });
    expect(st.tensors.get('w')).toMatchObject({ dtype: 'F32', shape: [4, 6], size: 24 });
    const back = st.float32('w');
    expect(back).toEqual(values);
    expect(back.buffer).toBe(bytes.buffer);
  });

  it('F16 and BF16 round to nearest even within half an ulp', () => {
    const bytes = writeSafetensors([
      { name: 'half', dtype: 'F16', shape: [24], data: values },
      { name: 'brain', dtype: 'BF16', shape: [2, 12], data: values },
    ]);
    const st = parseSafetensors(bytes, FILE);
    const half = st.float32('half');
    const brain = st.float32('brain');
    values.forEach((v, i) => {
      // Relative half-ulp: 2^-11 for F16 normals (plus the subnormal step), 2^-8 for BF16.
      expect(Math.abs(half[i]! - v)).toBeLessThanOrEqual(Math.abs(v) * 2 ** -11 + 2 ** -25);
      expect(Math.abs(brain[i]! - v)).toBeLessThanOrEqual(Math.abs(v) * 2 ** -8);
    });
    // Exactly representable values survive unchanged.
    const exact = [0, -0, 1, -2.5, 0.125, 65504, 2 ** -24, -1024];
    const e = parseSafetensors(
      writeSafetensors([{ name: 'x', dtype: 'F16', shape: [8], data: exact }]),
      FILE,
    );
    expect(Array.from(e.float32('x'))).toEqual(exact);
  });

  it('known F16 / BF16 bit patterns (rounding, overflow, subnormals, NaN)', () => {
    expect(f32ToF16Bits(0.1)).toBe(0x2e66);
    expect(f32ToF16Bits(65504)).toBe(0x7bff);
    expect(f32ToF16Bits(65520)).toBe(0x7c00); // rounds up to Infinity
    expect(f32ToF16Bits(-Infinity)).toBe(0xfc00);
    expect(f32ToF16Bits(2 ** -24)).toBe(0x0001);
    expect(f32ToF16Bits(2 ** -25)).toBe(0x0000); // tie to even (0)
    expect(f32ToF16Bits(3 * 2 ** -26)).toBe(0x0001);
    expect(f32ToF16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie to even (1.0)
    expect(f32ToF16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(f32ToF16Bits(-0)).toBe(0x8000);
    expect(Number.isNaN(f16ToF32(Uint16Array.of(f32ToF16Bits(NaN)))[0])).toBe(true);
    expect(f32ToBf16Bits(1 / 3)).toBe(0x3eab);
    expect(f32ToBf16Bits(1)).toBe(0x3f80);
    expect(Number.isNaN(bf16ToF32(Uint16Array.of(f32ToBf16Bits(NaN)))[0])).toBe(true);
    expect(Array.from(f16ToF32(Uint16Array.of(0x3c00, 0xc000, 0x0001, 0x7c00)))).toEqual([
      1,
      -2,
      2 ** -24,
      Infinity,
    ]);
  });

  it('integer dtypes come back as Int32Array; mixed dtypes stay aligned', () => {
    const bytes = writeSafetensors([
      { name: 'flag', dtype: 'BOOL', shape: [3], data: [1, 0, 1] },
      { name: 'tokens', dtype: 'I32', shape: [3], data: [1, 403, -7] },
      { name: 'big', dtype: 'I64', shape: [2], data: [2 ** 31 - 1, -(2 ** 31)] },
      { name: 'bytes', dtype: 'U8', shape: [1, 3], data: [0, 255, 9] },
      { name: 'w', dtype: 'F32', shape: [1], data: [0.5] },
      { name: 'scalar', dtype: 'F16', shape: [], data: [3] },
    ]);
    const st = parseSafetensors(bytes, FILE);
    expect(Array.from(st.int32('flag'))).toEqual([1, 0, 1]);
    expect(Array.from(st.int32('tokens'))).toEqual([1, 403, -7]);
    expect(Array.from(st.int32('big'))).toEqual([2 ** 31 - 1, -(2 ** 31)]);
    expect(Array.from(st.int32('bytes'))).toEqual([0, 255, 9]);
    expect(st.float32('scalar')).toEqual(Float32Array.of(3));
    // Every tensor starts aligned to its element size (largest dtypes first, 8-byte padded header).
    for (const t of st.tensors.values()) expect(t.begin % SAFETENSORS_DTYPE_BYTES[t.dtype]).toBe(0);
    expect(() => st.float32('tokens')).toThrow(/dtype I32; expected a float dtype/);
    expect(() => st.int32('w')).toThrow(/dtype F32; expected an integer dtype/);
    expect(() => st.float32('nope')).toThrow(`${FILE}: no tensor named "nope"`);
  });

  it('an I64 value outside int32 is an error, not a wrapped number', () => {
    const st = parseSafetensors(
      writeSafetensors([{ name: 'i', dtype: 'I64', shape: [1], data: [2 ** 40] }]),
      FILE,
    );
    expect(() => st.int32('i')).toThrow(/holds 1099511627776 at index 0, outside the int32 range/);
  });

  it('reads a file at an unaligned offset inside a larger buffer', () => {
    const bytes = writeSafetensors([{ name: 'w', dtype: 'F32', shape: [24], data: values }]);
    const padded = new Uint8Array(bytes.length + 3);
    padded.set(bytes, 3);
    expect(parseSafetensors(padded.subarray(3), FILE).float32('w')).toEqual(values);
  });
  it('reads a Node Buffer at an unaligned offset (Buffer.slice is a view, not a copy)', () => {
    const bytes = writeSafetensors([
      { name: 'w', dtype: 'F32', shape: [24], data: values },
      { name: 'tokens', dtype: 'I32', shape: [3], data: [1, 403, -7] },
    ]);
    const buf = Buffer.concat([Buffer.alloc(3), Buffer.from(bytes)]).subarray(3);
    const st = parseSafetensors(buf, FILE);
    expect(st.float32('w')).toEqual(values);
    expect(Array.from(st.int32('tokens'))).toEqual([1, 403, -7]);
  });
});

describe('parseSafetensors: bad files name the file and the problem', () => {
  const ok = { w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };

  it('header length field larger than the limit or than the file', () => {
    expect(parseError(raw(ok, 8, 2n ** 40n)).problem).toMatch(
      /invalid safetensors header length 1,099,511,627,776 bytes: more than the 100,000,000-byte limit/,
    );
    expect(parseError(raw(ok, 8, 100_000_001n)).problem).toMatch(/more than the 100,000,000-byte limit/);
    expect(parseError(raw(ok, 8, 5000n)).problem).toMatch(
      /truncated safetensors file: the header length field says 5,000 bytes but only \d+ follow it/,
    );
    expect(parseError(new Uint8Array(5)).problem).toMatch(/fewer than the 8-byte header length field/);
  });

  it('header that is not a UTF-8 JSON object', () => {
    expect(parseError(raw('{"w": {"dtype": "F32",', 0)).problem).toMatch(
      /invalid safetensors header: not JSON/,
    );
    expect(parseError(raw('[1, 2]', 0)).problem).toMatch(/expected a JSON object, found an array/);
    const bad = raw('{"a":1}', 0);
    bad[10] = 0xff;
    expect(parseError(bad).problem).toBe('invalid safetensors header: not valid UTF-8');
    expect(parseError(raw({ __metadata__: { a: 1 } }, 0)).problem).toMatch(/__metadata__.a is not a string/);
  });

  it('unknown dtype', () => {
    const e = parseError(raw({ w: { dtype: 'F12', shape: [2], data_offsets: [0, 8] } }, 8));
    expect(e.problem).toMatch(/tensor "w" has unknown dtype "F12"; known: BOOL, U8/);
  });

  it('bad shape or offsets', () => {
    expect(parseError(raw({ w: { dtype: 'F32', shape: [2, -1], data_offsets: [0, 8] } }, 8)).problem).toMatch(
      /tensor "w" has an invalid shape \[2,-1\]/,
    );
    expect(parseError(raw({ w: { dtype: 'F32', shape: [1.5], data_offsets: [0, 8] } }, 8)).problem).toMatch(
      /invalid shape/,
    );
    expect(parseError(raw({ w: { dtype: 'F32', shape: [2], data_offsets: [8] } }, 8)).problem).toMatch(
      /invalid data_offsets \[8\]/,
    );
    expect(parseError(raw({ w: { dtype: 'F32', shape: [0], data_offsets: [8, 0] } }, 8)).problem).toMatch(
      /begin after end/,
    );
  });

  it('offsets past the end of the data section', () => {
    const e = parseError(raw({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, 8));
    expect(e.problem).toBe(
      'tensor "w" has data_offsets [0, 16] past the end of the 8-byte data section (truncated file?)',
    );
  });

  it('shape × dtype ≠ byte length', () => {
    const e = parseError(raw({ w: { dtype: 'F16', shape: [3, 2], data_offsets: [0, 8] } }, 8));
    expect(e.problem).toBe('tensor "w": shape [3, 2] × F16 needs 12 bytes but data_offsets [0, 8] span 8');
  });

  it('overlapping tensors', () => {
    const header = {
      a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] },
      b: { dtype: 'F32', shape: [2], data_offsets: [24, 32] },
      c: { dtype: 'F32', shape: [2], data_offsets: [12, 20] },
    };
    expect(parseError(raw(header, 32)).problem).toBe(
      'tensors "a" [0, 16] and "c" [12, 20] overlap in the data section',
    );
    // Gaps and empty tensors are fine.
    const gaps = {
      a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] },
      e: { dtype: 'F32', shape: [0], data_offsets: [4, 4] },
    };
    expect(parseSafetensors(raw(gaps, 8), FILE).float32('e')).toEqual(new Float32Array(0));
  });
});
