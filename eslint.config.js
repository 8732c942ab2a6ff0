import js from '@eslint/js';
import ts from 'typescript-eslint';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';
import layers from './eslint/layers.js';

export default ts.config(
  {
    ignores: [
      'node_modules',
      'dist',
      '.cli-build',
      'test-artifacts',
      'public/models',
      // AssemblyScript (compiled by scripts/wasm-build.mjs) and its generated output
      'kernels/wasm/assembly',
      'kernels/wasm/build',
    ],
  },
  js.configs.recommended,
  ...ts.configs.recommended,
  ...svelte.configs['flat/recommended'],
  {
    languageOptions: { globals: { ...globals.browser, ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': [
        'error',
        { selector: "CallExpression[callee.name='eval']", message: 'never eval untrusted text' },
      ],
    },
  },
  {
    // ARCHITECTURE.md's import table (eslint/layers.js).
    files: ['{kernels,runtime,analyses,workers,app,cli}/**/*.{ts,js,mjs,svelte}'],
    plugins: { sparsebook: layers },
    rules: { 'sparsebook/layers': ['error', { root: import.meta.dirname }] },
  },
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: { parserOptions: { parser: ts.parser } },
  },
  {
    // Only the test tree may skip nothing: forbid skip/todo everywhere.
    files: ['test/**/*.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'it', property: 'skip' },
        { object: 'describe', property: 'skip' },
        { object: 'test', property: 'skip' },
        { object: 'it', property: 'todo' },
      ],
    },
  },
);
