/**
 * ARCHITECTURE.md's import table is enforced by lint (eslint/layers.js): a file that breaks it
 * fails `npm run lint`, and the source tree breaks it nowhere. Runs ESLint's Node API with the
 * project's own eslint.config.js.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
import { layerViolation } from '../../eslint/layers.js';

const root = path.resolve(import.meta.dirname, '../..');
const RULE = 'sparsebook/layers';

describe('layer rules', () => {
  it('reports each import a page file may not make, and allows types and catalogues', async () => {
    const eslint = new ESLint({ cwd: root });
    const fixture = readFileSync(path.join(import.meta.dirname, 'fixtures/app-imports.ts.txt'), 'utf8');
    // Linted as if it were app/cells/fixture.ts, so the paths resolve as in a real cell.
    const [result] = await eslint.lintText(fixture, { filePath: path.join(root, 'app/cells/fixture.ts') });
    const layerErrors = result!.messages.filter((m) => m.ruleId === RULE);
    expect(layerErrors.map((m) => [m.line, m.severity])).toEqual([
      [3, 2],
      [4, 2],
      [5, 2],
    ]);
    expect(layerErrors[0]!.message).toMatch(/^app\/ may not import kernels\/ \(kernels\/matmul\)/);
    expect(layerErrors[1]!.message).toMatch(/^app\/ may import only types from workers\/sae-jobs/);
    expect(layerErrors[2]!.message).toMatch(
      /^app\/ may import only types from analyses\/attention\/masks\/index/,
    );
  });

  it('keeps every lower layer from importing upward', () => {
    expect(layerViolation('kernels/matmul.ts', 'runtime/model/llama', false)).toMatch(
      /kernels\/ may not import runtime\//,
    );
    expect(layerViolation('runtime/model/llama.ts', 'analyses/sae/train', true)).toMatch(/runtime\/ may not/);
    expect(layerViolation('analyses/sae/train.ts', 'workers/sae-jobs', false)).toMatch(/analyses\/ may not/);
    expect(layerViolation('workers/sae-jobs.ts', 'app/cells/kinds', true)).toMatch(/workers\/ may not/);
    expect(layerViolation('workers/sae-jobs.ts', 'analyses/sae/train', false)).toBeUndefined();
    expect(layerViolation('app/cells/x.ts', 'workers/runtime-client', false)).toBeUndefined();
    expect(layerViolation('app/cells/x.ts', 'kernels/tensor', true)).toMatch(
      /app\/ may not import kernels\//,
    );
  });

  it('finds no layer violation in the source tree', async () => {
    const eslint = new ESLint({ cwd: root });
    const results = await eslint.lintFiles(['kernels', 'runtime', 'analyses', 'workers', 'app', 'cli']);
    const violations = results.flatMap((r) =>
      r.messages
        .filter((m) => m.ruleId === RULE)
        .map((m) => `${path.relative(root, r.filePath)}:${m.line} ${m.message}`),
    );
    expect(violations).toEqual([]);
  }, 300_000);
});
