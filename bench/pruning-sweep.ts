/**
 * bench/pruning-sweep: wall time of a 6-level × 3-method unstructured pruning sweep (magnitude,
 * Wanda, SparseGPT at sparsity 0.1 … 0.6) on each backend, same model, text and settings, as JSON —
 * with the curves' losses and cliffs so a slow run can be told from a wrong one.
 *
 *   npm run bench:pruning-sweep [-- --model M --tokenizer T --text F --calibration-windows 4 --max-windows 4 --backends cpu,webgpu]
 */
import { parseArgs } from 'node:util';
import path from 'node:path';
import { pruningSweep, type PruningPointRow } from '../analyses/pruning';
import { tableRows } from '../runtime/tables';
import { loadModel, readText } from '../cli/session';
import { parseSparsities } from '../analyses/pruning/sparsities';

const shared = process.env.SPARSEBOOK_SHARED ?? path.resolve(import.meta.dirname, '../../shared');
const { values: f } = parseArgs({
  options: {
    model: { type: 'string', default: path.join(shared, 'models/stories260K/stories260K.bin') },
    tokenizer: { type: 'string', default: path.join(shared, 'models/stories260K/tok512.bin') },
    text: { type: 'string', default: path.join(shared, 'data/tinystories-valid-1000.txt') },
    'calibration-windows': { type: 'string', default: '4' },
    'max-windows': { type: 'string', default: '4' },
    backends: { type: 'string', default: 'cpu,webgpu' },
  },
});

const SPARSITIES = parseSparsities([0.1, 0.2, 0.3, 0.4, 0.5, 0.6]);
const text = await readText(f.text!);
const result: Record<string, unknown> = {
  bench: 'pruning-sweep',
  model: path.basename(f.model!),
  methods: ['magnitude', 'wanda', 'sparsegpt'],
  sparsities: SPARSITIES,
  calibration_windows: Number(f['calibration-windows']),
  scored_windows: Number(f['max-windows']),
};
const walls: Record<string, number> = {};
for (const kind of f.backends!.split(',') as ('cpu' | 'webgpu')[]) {
  const { backend, model, tokenizer } = await loadModel(kind, f.model!, f.tokenizer);
  const t0 = performance.now();
  const s = await pruningSweep(model, tokenizer, text, {
    sparsities: SPARSITIES,
    calibrationWindows: Number(f['calibration-windows']),
    maxWindows: Number(f['max-windows']),
  });
  const wall = (performance.now() - t0) / 1000;
  walls[kind] = wall;
  const points = tableRows<PruningPointRow>(s.points);
  result[kind] = {
    device: backend.description,
    wall_s: +wall.toFixed(2),
    points: points.length,
    dense_loss: +s.dense.loss.toFixed(4),
    loss: Object.fromEntries(
      ['magnitude', 'wanda', 'sparsegpt'].map((m) => [
        m,
        points.filter((p) => p.method === m).map((p) => +(p.loss as number).toFixed(4)),
      ]),
    ),
    essential_sparsity: Object.fromEntries(s.cliffs.map((c) => [c.method, c.essentialSparsity])),
  };
  model.dispose();
  backend.destroy();
}
if (walls.cpu && walls.webgpu) result.webgpu_over_cpu = +(walls.webgpu / walls.cpu).toFixed(3);
console.log(JSON.stringify(result));
process.exit(0);
