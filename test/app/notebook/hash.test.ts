import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hashBytes, hashJson } from '../../../app/notebook/hash';

describe('hashes', () => {
  it('hashBytes is SHA-256 hex', async () => {
    expect(await hashBytes(new TextEncoder().encode('abc'))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    const bytes = Uint8Array.from({ length: 10_000 }, (_, i) => i & 255);
    expect(await hashBytes(bytes.subarray(5, 500))).toBe(
      createHash('sha256').update(bytes.subarray(5, 500)).digest('hex'),
    );
  });

  it('hashes a view over a SharedArrayBuffer', async () => {
    const shared = new Uint8Array(new SharedArrayBuffer(3));
    shared.set([97, 98, 99]);
    expect(await hashBytes(shared)).toBe(await hashBytes(new TextEncoder().encode('abc')));
  });

  it('hashJson ignores key order but not array order', async () => {
    expect(await hashJson({ a: 1, b: { c: [1, 2], d: 'x' } })).toBe(
      await hashJson({ b: { d: 'x', c: [1, 2] }, a: 1 }),
    );
    expect(await hashJson({ a: [1, 2] })).not.toBe(await hashJson({ a: [2, 1] }));
  });
});
