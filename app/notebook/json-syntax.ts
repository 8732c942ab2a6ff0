/**
 * Find where JSON text first goes wrong. Engines disagree about syntax-error messages (V8 gives a
 * position only for some errors and quotes the text for others, Safari gives neither), so the file
 * loader runs this small scanner after JSON.parse has failed, to say "line 4, column 3" everywhere.
 */

/** Where and what: offset into the text (UTF-16 units) and a short description of what is there. */
export interface JsonErrorLocation {
  offset: number;
  line: number;
  column: number;
  /** `unexpected "]"`, `unexpected end of text`, … */
  found: string;
}

class Stop {
  constructor(readonly offset: number) {}
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const HEX4 = /^[0-9a-fA-F]{4}$/;

/**
 * The first syntax error in `text`, or undefined when it is valid JSON (or too deeply nested to scan).
 *
 * @example
 * locateJsonError('{\n  "a": 1,\n}'); // { offset: 12, line: 3, column: 1, found: 'unexpected "}"' }
 */
export function locateJsonError(text: string): JsonErrorLocation | undefined {
  let i = 0;
  const stop = (): never => {
    throw new Stop(i);
  };
  const ws = () => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r'))
      i++;
  };
  const expect = (ch: string) => {
    if (text[i] !== ch) stop();
    i++;
  };
  const string = () => {
    expect('"');
    for (;;) {
      if (i >= text.length) stop();
      const ch = text[i]!;
      if (ch === '"') {
        i++;
        return;
      }
      if (ch === '\\') {
        i++;
        const esc = text[i];
        if (esc !== undefined && '"\\/bfnrt'.includes(esc)) i++;
        else if (esc === 'u' && HEX4.test(text.slice(i + 1, i + 5))) i += 5;
        else stop();
      } else if (ch.charCodeAt(0) < 0x20) stop();
      else i++;
    }
  };
  const value = (): void => {
    ws();
    const ch = text[i];
    if (ch === '{' || ch === '[') {
      const close = ch === '{' ? '}' : ']';
      i++;
      ws();
      if (text[i] === close) {
        i++;
        return;
      }
      for (;;) {
        if (ch === '{') {
          ws();
          string();
          ws();
          expect(':');
        }
        value();
        ws();
        if (text[i] === ',') i++;
        else return expect(close);
      }
    }
    if (ch === '"') return string();
    NUMBER.lastIndex = i;
    if (NUMBER.exec(text)) {
      i = NUMBER.lastIndex;
      return;
    }
    for (const literal of ['true', 'false', 'null']) {
      if (text.startsWith(literal, i)) {
        i += literal.length;
        return;
      }
    }
    stop();
  };

  try {
    value();
    ws();
    if (i < text.length) stop();
    return undefined;
  } catch (e) {
    if (!(e instanceof Stop)) return undefined; // RangeError: nested beyond the stack; give no location
    const before = text.slice(0, e.offset);
    const lineStart = before.lastIndexOf('\n') + 1;
    const found =
      e.offset >= text.length ? 'unexpected end of text' : `unexpected ${JSON.stringify(text[e.offset])}`;
    return { offset: e.offset, line: before.split('\n').length, column: e.offset - lineStart + 1, found };
  }
}
