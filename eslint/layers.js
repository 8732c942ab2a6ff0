/**
 * ARCHITECTURE.md's import table ("Folders": who may import what) as an ESLint rule, so a layer
 * violation fails `npm run lint` instead of waiting for a review. The table is data below; the rule
 * resolves each relative import (and re-export, and dynamic import) against the importing file and
 * checks the folder it lands in.
 *
 * `app/` may import types from any layer (they vanish from the bundle), but values only from the
 * worker client and the compute-free modules listed in APP_VALUE_MODULES: whatever else it imported
 * would be bundled into the page (the SAE stack, the kernels) and run on the main thread.
 */
import path from 'node:path';

/** Top-level folders the table covers; others (test/, bench/, tools/, scripts/) import anything. */
export const LAYERS = ['kernels', 'runtime', 'analyses', 'workers', 'app', 'cli'];

/** Layer → the layers whose values it may import (its own included). */
export const MAY_IMPORT = {
  kernels: ['kernels'],
  runtime: ['runtime', 'kernels'],
  analyses: ['analyses', 'runtime', 'kernels'],
  workers: ['workers', 'analyses', 'runtime', 'kernels'],
  app: ['app'],
  // Headless notebooks (`sparsebook report`, cli/headless-notebook.ts) run the app's cell kinds
  // and scheduler over the worker API in Node: the one place the CLI reaches into app/ and workers/.
  cli: ['cli', 'analyses', 'runtime', 'kernels', 'app', 'workers'],
};

/** Layers whose types (`import type`) a layer may use beyond MAY_IMPORT. */
export const MAY_IMPORT_TYPES = {
  app: ['workers', 'analyses', 'runtime'],
};

/**
 * The modules outside app/ whose values the page may import (repo-relative, no extension; `*` is
 * one path segment). Each is compute-free: no kernels, no model code.
 */
export const APP_VALUE_MODULES = [
  // The worker boundary: the client, and the types modules' constants.
  'workers/runtime-client',
  'workers/*-types',
  'workers/text',
  // Per-analysis catalogues (names, option schemas, labels, table readers) and the schema builder.
  'analyses/*/catalogue',
  'analyses/options',
  // Table codecs, error classes and hub ids the page reads and shows.
  'runtime/tensor-table',
  'runtime/tables',
  'runtime/errors',
  'runtime/sources/hub-id',
  // The browser's hub download cache, which the model cell lists and clears on the main thread.
  'runtime/sources/opfs-hub-cache',
];

function globToRegExp(glob) {
  return new RegExp(
    '^' +
      glob
        .split('*')
        .map((s) => s.replace(/[.+?^${}()|[\]\\/]/g, '\\$&'))
        .join('[^/]+') +
      '$',
  );
}
const APP_VALUE_RES = APP_VALUE_MODULES.map(globToRegExp);

/**
 * Why `from` (repo-relative file) may not import `to` (repo-relative module, extension dropped), or
 * undefined when it may. `typeOnly`: the import brings in types only.
 */
export function layerViolation(from, to, typeOnly) {
  const fromLayer = from.split('/')[0];
  const toLayer = to.split('/')[0];
  if (!LAYERS.includes(fromLayer) || !LAYERS.includes(toLayer) || fromLayer === toLayer) return undefined;
  if (MAY_IMPORT[fromLayer].includes(toLayer)) return undefined;
  if (typeOnly && (MAY_IMPORT_TYPES[fromLayer] ?? []).includes(toLayer)) return undefined;
  if (fromLayer === 'app' && APP_VALUE_RES.some((re) => re.test(to))) return undefined;
  if (fromLayer === 'app' && (MAY_IMPORT_TYPES.app ?? []).includes(toLayer))
    return `app/ may import only types from ${to} (values only from the worker client and compute-free catalogue modules; see eslint/layers.js)`;
  return `${fromLayer}/ may not import ${toLayer}/ (${to}); ARCHITECTURE.md: ${fromLayer}/ imports ${MAY_IMPORT[fromLayer].join(', ')}`;
}

function isTypeOnly(node) {
  if (node.importKind === 'type' || node.exportKind === 'type') return true;
  const specs = node.specifiers ?? [];
  return specs.length > 0 && specs.every((s) => s.importKind === 'type' || s.exportKind === 'type');
}

/** @type {import('eslint').Rule.RuleModule} */
export const layersRule = {
  meta: {
    type: 'problem',
    docs: { description: "ARCHITECTURE.md's import table: which top-level folder may import which" },
    schema: [{ type: 'object', properties: { root: { type: 'string' } }, additionalProperties: false }],
  },
  create(context) {
    const root = context.options[0]?.root ?? context.cwd;
    const file = path.relative(root, context.filename).split(path.sep).join('/');
    if (file.startsWith('..') || !LAYERS.includes(file.split('/')[0])) return {};
    function check(node, source, typeOnly) {
      if (!source || typeof source.value !== 'string' || !source.value.startsWith('.')) return;
      const target = path
        .relative(root, path.resolve(path.dirname(context.filename), source.value))
        .split(path.sep)
        .join('/')
        .replace(/\.(svelte\.)?(ts|js|mjs)$/, '');
      const problem = layerViolation(file, target, typeOnly);
      if (problem) context.report({ node: source, message: problem });
    }
    return {
      ImportDeclaration: (node) => check(node, node.source, isTypeOnly(node)),
      ExportNamedDeclaration: (node) => node.source && check(node, node.source, isTypeOnly(node)),
      ExportAllDeclaration: (node) => check(node, node.source, node.exportKind === 'type'),
      ImportExpression: (node) => node.source.type === 'Literal' && check(node, node.source, false),
    };
  },
};

export default { rules: { layers: layersRule } };
