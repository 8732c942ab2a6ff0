import { describe, expect, it } from 'vitest';
import { locateJsonError } from '../../../app/notebook/json-syntax';

describe('locateJsonError', () => {
  it.each([
    ['{"a": 1}'],
    [' [1, -2.5e+3, 0, "x\\u00e9\\n", true, false, null, {}, [], {"b": [{}]}] '],
    ['"just a string"'],
    ['0'],
  ])('finds nothing wrong in %s', (text) => {
    expect(() => JSON.parse(text)).not.toThrow();
    expect(locateJsonError(text)).toBeUndefined();
  });

  it.each([
    ['{\n  "a": 1,\n}', 3, 1, 'unexpected "}"'],
    ['{"a" 1}', 1, 6, 'unexpected "1"'],
    ["{'a': 1}", 1, 2, `unexpected "'"`],
    ['[1 2]', 1, 4, 'unexpected "2"'],
    ['[01]', 1, 3, 'unexpected "1"'],
    ['[1.]', 1, 3, 'unexpected "."'],
    ['["a\\x"]', 1, 5, 'unexpected "x"'],
    ['["\\u12G4"]', 1, 4, 'unexpected "u"'],
    ['["tab\there"]', 1, 6, 'unexpected "\\t"'],
    ['[tru]', 1, 2, 'unexpected "t"'],
    ['{"a": [1, 2', 1, 12, 'unexpected end of text'],
    ['{} {}', 1, 4, 'unexpected "{"'],
    ['', 1, 1, 'unexpected end of text'],
    ['[NaN]', 1, 2, 'unexpected "N"'],
  ])('locates the error in %j at line %i, column %i', (text, line, column, found) => {
    expect(() => JSON.parse(text)).toThrow(SyntaxError);
    expect(locateJsonError(text)).toMatchObject({ line, column, found });
  });

  it('gives up quietly on nesting deeper than the stack', () => {
    expect(locateJsonError('['.repeat(1_000_000))).toBeUndefined();
  });
});
