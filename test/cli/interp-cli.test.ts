/**
 * The interpretability commands as a user runs them (real subprocesses, CPU backend), on
 * stories260K: the logit lens's JSON contract, activation patching and direct logit attribution of
 * a real finding — which layers and heads carry a character's name to the pronoun that refers to it
 * — and the activations explorer on stories260K and the GPT-2 and Gemma 3 fixtures.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const bin = path.join(root, 'cli/bin.mjs');
const stories = path.resolve(root, '../shared/models/stories260K');
const M = ['--model', path.join(stories, 'stories260K.bin'), '--tokenizer', path.join(stories, 'tok512.bin')];
const CLEAN = 'Once upon a time, there was a kid named Lily. One day,';
const CORRUPTED = 'Once upon a time, there was a kid named Tim. One day,';

function json<T>(args: string[]): T {
  const r = spawnSync(process.execPath, [bin, ...args, '--json'], { encoding: 'utf8', timeout: 240_000 });
  expect(r.status, r.stderr).toBe(0);
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as T;
}

describe('sparsebook logit-lens / patch / dla / activations', () => {
  it('logit-lens: one row per layer boundary, the final layer last and equal to the output', () => {
    const text = path.join(mkdtempSync(path.join(tmpdir(), 'lens-')), 'story.txt');
    writeFileSync(text, `${CLEAN} she went to the park with her mom. She saw a big dog and smiled.`);
    const r = json<{
      layers: { layer: number; kl_to_final: number; top1_agreement: number; next_token_loss: number }[];
    }>(['logit-lens', ...M, '--text', text, '--max-windows', '1']);
    expect(r.layers.map((l) => l.layer)).toEqual([0, 1, 2, 3, 4, 5]);
    const last = r.layers.at(-1)!;
    expect(last.kl_to_final).toBeLessThan(1e-6);
    expect(last.top1_agreement).toBe(1);
    // The prediction forms with depth: the embeddings alone predict far worse than the output.
    expect(r.layers[0]!.next_token_loss).toBeGreaterThan(last.next_token_loss + 0.5);
    expect(r.layers[0]!.kl_to_final).toBeGreaterThan(r.layers[4]!.kl_to_final);
  });

  it('patch: the name lives at its own position until layer 2, and layer 2 moves it to the last token', () => {
    const r = json<{ tokens: string[]; clean: number; corrupted: number; restored_by_position: number[][] }>([
      'patch',
      ...M,
      '--clean',
      CLEAN,
      '--corrupted',
      CORRUPTED,
      '--answer',
      ' she',
      '--wrong',
      ' he',
      '--hook',
      'hook_resid_pre',
      '--positions',
      'each',
    ]);
    expect(r.clean).toBeGreaterThan(2); // "she" after Lily
    expect(r.corrupted).toBeLessThan(-2); // "he" after Tim
    const name = r.tokens.findIndex((t) => t.includes('Lil'));
    const last = r.tokens.length - 1;
    const at = (layer: number, p: number) => r.restored_by_position[layer]![p]!;
    // Layers 0–2: all of the effect is at the name; patching the last token does nothing yet.
    for (const l of [0, 1, 2]) expect(at(l, name)).toBeGreaterThan(0.9);
    expect(Math.abs(at(1, last))).toBeLessThan(0.05);
    // After layer 2 the last token carries a large share of it.
    expect(at(3, last)).toBeGreaterThan(0.3);
    expect(at(3, name)).toBeLessThan(0.8);
  });

  it('patch per head and dla agree on the heads that carry it (L2.H6, L4.H0, L4.H2), and the parts sum', () => {
    const heads = json<{ restored: number[]; restored_by_head: number[][] }>([
      'patch',
      ...M,
      '--clean',
      CLEAN,
      '--corrupted',
      CORRUPTED,
      '--answer',
      ' she',
      '--wrong',
      ' he',
      '--hook',
      'attn.hook_z',
      '--heads',
    ]);
    expect(heads.restored_by_head[2]![6]).toBeGreaterThan(0.4);
    expect(heads.restored_by_head[4]![0]! + heads.restored_by_head[4]![2]!).toBeGreaterThan(0.5);
    const dla = json<{ parts: { name: string; value: number }[]; total: number; logitDiff: number }>([
      'dla',
      ...M,
      '--prompt',
      CLEAN,
      '--answer',
      ' she',
      '--wrong',
      ' he',
    ]);
    expect(Math.abs(dla.total - dla.logitDiff)).toBeLessThan(1e-4);
    const value = (n: string) => dla.parts.find((p) => p.name === n)!.value;
    for (const n of ['L2.H6', 'L4.H0', 'L4.H2']) expect(value(n)).toBeGreaterThan(0.3);
  });

  it('patch refuses prompts of different token lengths and multi-token answers, naming them', () => {
    const r = spawnSync(
      process.execPath,
      [
        bin,
        'patch',
        ...M,
        '--clean',
        CLEAN,
        '--corrupted',
        'Once there was Tim.',
        '--answer',
        ' she',
        '--wrong',
        ' he',
        '--hook',
        'hook_resid_pre',
      ],
      { encoding: 'utf8' },
    );
    expect(r.stderr).toMatch(/equal token length; they have \d+ and \d+ tokens/);
    const t = spawnSync(
      process.execPath,
      [
        bin,
        'patch',
        ...M,
        '--clean',
        CLEAN,
        '--corrupted',
        CORRUPTED,
        '--answer',
        ' she went',
        '--wrong',
        ' he',
        '--hook',
        'hook_resid_pre',
      ],
      { encoding: 'utf8' },
    );
    expect(t.stderr).toMatch(/--answer " she went" is \d tokens/);
  });

  it.each([
    ['stories260K', M, 'blocks.2.hook_resid_post'],
    ['gpt2 fixture', ['--model', path.join(root, 'test/fixtures/arch/gpt2')], 'blocks.1.mlp.hook_post'],
    ['gemma3 fixture', ['--model', path.join(root, 'test/fixtures/arch/gemma3')], 'blocks.0.hook_resid_post'],
  ])('activations on %s', (_name, model, hook) => {
    const text = path.join(mkdtempSync(path.join(tmpdir(), 'acts-')), 'story.txt');
    writeFileSync(text, `${CLEAN} she went to the park.`);
    const r = json<{
      tokens: number;
      channels: number;
      channelStats: { maxAbs: number; nearZero: number }[];
      tokenSparsity: number[];
    }>(['activations', ...model, '--text', text, '--hook', hook]);
    expect(r.tokens).toBeGreaterThan(5);
    expect(r.channelStats).toHaveLength(r.channels);
    expect(r.tokenSparsity).toHaveLength(r.tokens);
  });
});
