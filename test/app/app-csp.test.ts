/**
 * The live app's and embed.html's Content-Security-Policy (scripts/app-csp.ts): only the app's own
 * scripts (its files, and each inline script by hash), no eval, no remote script, style, media or
 * frame; the dev server only adds its HMR socket.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { appCsp, withAppCsp } from '../../scripts/app-csp';

const root = path.resolve(import.meta.dirname, '../..');

function directives(policy: string): Map<string, string[]> {
  return new Map(
    policy.split(';').map((d) => {
      const [name, ...values] = d.trim().split(/\s+/);
      return [name!, values];
    }),
  );
}

describe.each(['index.html', 'embed.html'])('app CSP for %s', (page) => {
  const html = readFileSync(path.join(root, 'app', page), 'utf8');
  const inline = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);

  it('allows the app’s own scripts and its inline theme script by hash, nothing else', () => {
    expect(inline.length).toBeGreaterThan(0);
    const d = directives(appCsp(html, { dev: false }));
    const hashes = inline.map((s) => `'sha256-${createHash('sha256').update(s).digest('base64')}'`);
    expect(d.get('script-src')).toEqual(["'self'", ...hashes]);
    expect(d.get('default-src')).toEqual(["'none'"]);
    expect(d.get('worker-src')).toEqual(["'self'"]);
    expect(d.get('base-uri')).toEqual(["'none'"]);
    expect(d.get('form-action')).toEqual(["'none'"]);
  });

  it('loads no remote script, style, font or media; remote images only as the renderer allows', () => {
    const policy = appCsp(html, { dev: false });
    expect(policy).not.toMatch(/unsafe-eval|wasm-unsafe-eval|\*/);
    const d = directives(policy);
    for (const name of ['script-src', 'style-src', 'font-src', 'media-src', 'worker-src'])
      expect(d.get(name)!.filter((v) => /^(https?:|ws)/.test(v))).toEqual([]);
    expect(d.get('img-src')).toEqual(["'self'", 'data:', 'blob:', 'https:']);
    expect(d.has('frame-src')).toBe(false); // default-src 'none' applies: no frames
    expect(d.has('object-src')).toBe(false);
  });

  it('adds only the HMR socket in the dev server', () => {
    const build = directives(appCsp(html, { dev: false }));
    const dev = directives(appCsp(html, { dev: true }));
    expect(dev.get('connect-src')).toEqual([...build.get('connect-src')!, 'ws:', 'wss:']);
    expect(dev.get('script-src')).toEqual(build.get('script-src'));
  });

  it('puts the policy in a meta tag right after <meta charset>', () => {
    const out = withAppCsp(html, { dev: false });
    expect(out.match(/http-equiv="Content-Security-Policy"/g)).toHaveLength(1);
    expect(out.indexOf('http-equiv="Content-Security-Policy"')).toBeLessThan(out.indexOf('<script>'));
    expect(() => withAppCsp('<html></html>', { dev: false })).toThrow(/meta charset/);
  });
});
