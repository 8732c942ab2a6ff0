/**
 * A Vite plugin that replaces apache-arrow's `createIsValidFunction`, which compiles a builder's
 * null values into a function with `new Function`, by an equivalent closure. Reports carry a
 * Content-Security-Policy without 'unsafe-eval', under which every Arrow builder (vectorFromArray,
 * tableFromArrays over JS arrays) would otherwise throw, in the page and in the worker.
 */
import type { Plugin } from 'vite';

const VALID_MODULE = /apache-arrow[\\/]builder[\\/]valid\.(m?js)$/;

/** Same semantics as Arrow's generated switch: a value is null when it is one of `nullValues` (NaN by NaN-ness). */
const CLOSURE_SOURCE = `
export function createIsValidFunction(nullValues) {
  if (!nullValues || nullValues.length <= 0) return function isValid() { return true; };
  const nulls = new Set(nullValues.filter((x) => x === x));
  const nanIsNull = nullValues.some((x) => x !== x);
  return function isValid(x) { return !(nulls.has(x) || (nanIsNull && x !== x)); };
}
`;

export function arrowWithoutEval(): Plugin {
  return {
    name: 'sparsebook-arrow-without-eval',
    enforce: 'pre',
    transform(code, id) {
      if (!VALID_MODULE.test(id.split('?')[0]!)) return null;
      const start = code.indexOf('export function createIsValidFunction');
      const end = code.indexOf('/** @ignore */', start);
      if (start < 0 || end < 0)
        throw new Error(`${id}: apache-arrow changed; createIsValidFunction not found`);
      return { code: code.slice(0, start) + CLOSURE_SOURCE + code.slice(end), map: null };
    },
  };
}
