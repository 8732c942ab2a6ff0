/**
 * Shader source specialisation, the one templating style of every dispatcher: a WGSL file is valid
 * WGSL as written (its constants carry defaults), and a dispatcher sets constants and keeps or
 * drops flagged blocks.
 */

/**
 * Specialize a WGSL source: set `const NAME: u32 = …u;` (a number) and `const NAME: bool = …;` (a
 * boolean) declarations, and keep or drop the lines between `// #if FLAG`, `// #else` and
 * `// #endif` (nesting allowed).
 *
 * @example
 * specialize(source, { WG: 256, TRANS_B: true }, { BIAS: false });
 */
export function specialize(
  source: string,
  consts: Record<string, number | boolean>,
  flags: Record<string, boolean> = {},
): string {
  let code = source;
  for (const [name, value] of Object.entries(consts)) {
    const bool = typeof value === 'boolean';
    const re = new RegExp(bool ? `const ${name}: bool = (true|false);` : `const ${name}: u32 = \\d+u;`);
    if (!re.test(code)) throw new Error(`specialize: no constant ${name} in the shader`);
    code = code.replace(re, bool ? `const ${name}: bool = ${value};` : `const ${name}: u32 = ${value}u;`);
  }
  const out: string[] = [];
  let keep = [true];
  for (const line of code.split('\n')) {
    const directive = /^\s*\/\/ #(if|else|endif)\b\s*(\w*)/.exec(line);
    if (!directive) {
      if (keep.every(Boolean)) out.push(line);
    } else if (directive[1] === 'if') {
      const flag = directive[2]!;
      if (!(flag in flags)) throw new Error(`specialize: flag ${flag} not given`);
      keep = [...keep, flags[flag]!];
    } else if (directive[1] === 'else') {
      keep = [...keep.slice(0, -1), !keep[keep.length - 1]];
    } else {
      keep = keep.slice(0, -1);
    }
  }
  return out.join('\n');
}
