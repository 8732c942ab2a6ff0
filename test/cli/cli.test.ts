/**
 * The `sparsebook` command as users run it (a real subprocess): eval on both backends agrees,
 * --json prints one JSON object last, generate reproduces llama2.c, bad input names the file.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SHARED_DIR } from '../helpers/shared-paths';

const bin = path.resolve(import.meta.dirname, '../../cli/bin.mjs');
const model = path.join(SHARED_DIR, 'models/stories260K/stories260K.bin');
const tok = path.join(SHARED_DIR, 'models/stories260K/tok512.bin');
const dir = mkdtempSync(path.join(tmpdir(), 'sparsebook-cli-'));

function sparsebook(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 240_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function lastJson(stdout: string) {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as {
    loss: number;
    perplexity: number;
    tokens: number;
    backend: string;
    seconds: number;
  };
}

// A small slice of the validation text keeps the webgpu (SwiftShader) run short.
const docs = readFileSync(path.join(SHARED_DIR, 'data/tinystories-valid-1000.txt'), 'utf8')
  .split('<|endoftext|>')
  .slice(0, 8);
const textFile = path.join(dir, 'valid-8.txt');
writeFileSync(textFile, docs.join('<|endoftext|>'));

describe('sparsebook eval', () => {
  it('agrees between cpu and webgpu within 1e-3 and prints JSON last', () => {
    const c = sparsebook('eval', '--model', model, '--tokenizer', tok, '--text', textFile, '--json');
    expect(c.code, c.stderr).toBe(0);
    const g = sparsebook(
      'eval',
      '--model',
      model,
      '--tokenizer',
      tok,
      '--text',
      textFile,
      '--backend',
      'webgpu',
      '--json',
    );
    expect(g.code, g.stderr).toBe(0);
    const cj = lastJson(c.stdout);
    const gj = lastJson(g.stdout);
    expect(cj.backend).toBe('cpu');
    expect(gj.backend).toBe('webgpu');
    expect(gj.tokens).toBe(cj.tokens);
    expect(Math.abs(gj.loss - cj.loss)).toBeLessThanOrEqual(1e-3);
    expect(cj.perplexity).toBeCloseTo(Math.exp(cj.loss), 10);
    expect(cj.loss).toBeGreaterThan(0.8);
    expect(cj.loss).toBeLessThan(1.8);
  });

  it('prints a readable summary without --json', () => {
    const r = sparsebook('eval', '--model', model, '--tokenizer', tok, '--text', textFile);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/loss\s+\d+\.\d{6}/);
    expect(r.stdout).toMatch(/perplexity\s+\d/);
  });

  it('names the file and the problem on bad input', () => {
    const broken = path.join(dir, 'broken.bin');
    writeFileSync(broken, new Uint8Array(10));
    const r = sparsebook('eval', '--model', broken, '--tokenizer', tok, '--text', textFile);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/broken\.bin/);
    const bad = path.join(dir, 'bad-utf8.txt');
    writeFileSync(bad, Buffer.from([0x4f, 0x6e, 0xff, 0xfe, 0x63, 0x65]));
    const u = sparsebook('eval', '--model', model, '--tokenizer', tok, '--text', bad);
    expect(u.code).toBe(1);
    expect(u.stderr).toMatch(/bad-utf8\.txt/);
    expect(u.stderr).toMatch(/UTF-8/i);
  });

  it('rejects unknown flags and backends with usage', () => {
    expect(sparsebook('eval', '--nope').code).toBe(2);
    const r = sparsebook(
      'eval',
      '--model',
      model,
      '--tokenizer',
      tok,
      '--text',
      textFile,
      '--backend',
      'tpu',
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cpu or webgpu/);
  });
});

describe('sparsebook generate', () => {
  it('greedy decoding reproduces llama2.c on both backends', () => {
    for (const backend of ['cpu', 'webgpu']) {
      const r = sparsebook(
        'generate',
        '--model',
        model,
        '--tokenizer',
        tok,
        '--steps',
        '64',
        '--backend',
        backend,
      );
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(
        /^Once upon a time, there was a little girl named Lily\. She loved to play outside in the park\./,
      );
    }
  });
});
