/**
 * The bundled models through the CLI, as a user runs it (real subprocesses, CPU backend):
 * `sparsebook eval --model DIR` reproduces the validation loss the training framework reported in
 * each model card (metrics.json), and `sparsebook moe-stats` finds the global-batch-balanced MoE
 * more specialised by domain than the micro-batch one ("Demons in the Detail").
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const bin = path.join(root, 'cli/bin.mjs');
const models = path.join(root, 'public/models');
const corpus = path.join(models, 'corpus');
const DOMAINS = ['literature', 'speeches', 'email', 'code'] as const;

function sparsebook(...args: string[]): Record<string, unknown> {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 240_000 });
  expect(r.status, r.stderr).toBe(0);
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as Record<string, unknown>;
}

function metrics(model: string): { valid_loss: Record<string, number> } {
  return JSON.parse(readFileSync(path.join(models, model, 'metrics.json'), 'utf8')) as {
    valid_loss: Record<string, number>;
  };
}

describe('bundled models through the CLI', () => {
  // One domain per model keeps this under a minute; the model cards list all twelve numbers.
  it.each([
    ['sparsebook-dense', 'code'],
    ['sparsebook-moe-micro', 'email'],
    ['sparsebook-moe-global', 'speeches'],
  ] as const)('eval %s on valid-%s reproduces the model card', (model, domain) => {
    const r = sparsebook(
      'eval',
      '--model',
      path.join(models, model),
      '--text',
      path.join(corpus, `valid-${domain}.txt`),
      '--json',
    );
    expect(r.loss as number).toBeCloseTo(metrics(model).valid_loss[domain]!, 5);
  });

  it('moe-stats: global-batch balancing specialises experts by domain more than micro-batch', () => {
    const stats = (model: string) =>
      sparsebook(
        'moe-stats',
        '--model',
        path.join(models, model),
        ...DOMAINS.flatMap((d) => ['--text', `${d}=${path.join(corpus, `valid-${d}.txt`)}`]),
        '--max-tokens',
        '4000',
        '--json',
      ) as { specialisation: number; layers: { specialisation: number }[] };
    const micro = stats('sparsebook-moe-micro');
    const global = stats('sparsebook-moe-global');
    console.log(
      `specialisation (4,000 tokens per domain): micro ${micro.specialisation.toFixed(4)}, global ${global.specialisation.toFixed(4)}`,
    );
    expect(global.specialisation).toBeGreaterThan(2 * micro.specialisation);
    expect(global.layers).toHaveLength(4);
  });
});
