/**
 * `sparsebook eval --model DIR` on every architecture fixture folder (config.json, model.safetensors,
 * tokenizer.json, tokenizer_config.json, as the hub ships them): exit 0, one JSON line, and the loss
 * the runtime computes in process on the same text.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createCpuBackend } from '../../kernels/cpu-backend';
import { evaluateLoss, loadModelFiles } from '../../runtime';
import { ARCH_FIXTURES } from '../helpers/arch-fixtures';

const root = path.resolve(import.meta.dirname, '../..');
const bin = path.join(root, 'cli/bin.mjs');
const text =
  'Once upon a time, a fox met a crow.<|endoftext|>The crow had cheese; the fox wanted it. "Sing!"';
const textFile = path.join(mkdtempSync(path.join(tmpdir(), 'sparsebook-arch-eval-')), 'text.txt');
writeFileSync(textFile, text);
const FOLDER_FILES = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'];

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [bin, ...args]);
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('sparsebook eval --model DIR on each architecture fixture', () => {
  // All fifteen subprocesses at once: each is mostly Node's start-up.
  const runs = new Map(
    ARCH_FIXTURES.map((name) => [
      name,
      run(['eval', '--model', path.join(root, 'test/fixtures/arch', name), '--text', textFile, '--json']),
    ]),
  );

  it.each(ARCH_FIXTURES)('%s', async (name) => {
    const r = await runs.get(name)!;
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    const got = JSON.parse(lines.at(-1)!) as { loss: number; tokens: number; backend: string };
    const dir = path.join(root, 'test/fixtures/arch', name);
    const loaded = loadModelFiles(
      createCpuBackend(),
      FOLDER_FILES.map((f) => ({ name: f, bytes: readFileSync(path.join(dir, f)) })),
    );
    const want = await evaluateLoss(loaded.model, loaded.tokenizer, text);
    expect(got.backend).toBe('cpu');
    expect(got.tokens).toBe(want.tokens);
    expect(Number.isFinite(got.loss)).toBe(true);
    // The CLI's CPU backend runs the WebAssembly kernels (float32 sums); `want` comes from the
    // TypeScript references (float64 sums): the same loss to float32 precision.
    expect(got.loss).toBeCloseTo(want.loss, 5);
    loaded.model.dispose();
  });
});
