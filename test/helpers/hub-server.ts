/**
 * A local stand-in for the Hugging Face hub, started by the tests themselves: a Node HTTP server on
 * 127.0.0.1 serving folders under the hub's URL layout `/{org}/{name}/resolve/{revision}/{file}`,
 * with Range requests (206 + Content-Range), ETag, HEAD, 404, optional Bearer-token gating, and a
 * log of every request, so tests can see what was downloaded. Nothing reaches the internet.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

/** One request the stand-in answered. */
export interface HubRequest {
  method: string;
  /** Repository id `org/name`. */
  repo: string;
  revision: string;
  file: string;
  /** The Range header, if any. */
  range?: string;
  /** Whether an Authorization header was sent (its value is never recorded). */
  authorized: boolean;
  status: number;
  /** Body bytes sent. */
  bytes: number;
}

export interface HubRepo {
  /** Folder whose files the repository serves. */
  dir: string;
  /** Only these files (default: every file the folder has). */
  files?: readonly string[];
  /** Gated: requests need `Authorization: Bearer <token>`. */
  token?: string;
}

export interface HubServer {
  /** The endpoint to put in HF_ENDPOINT, e.g. `http://127.0.0.1:41234`. */
  endpoint: string;
  log: HubRequest[];
  /** Serve `repo` (`org/name`) at every revision. */
  add(repo: string, spec: HubRepo): void;
  /** Answer Range requests with 200 and the whole file (a server without Range support). */
  noRange: boolean;
  /** Change a file's ETag without changing its bytes (a new upload). */
  bumpEtag(repo: string, file: string): void;
  /** Files (`org/name/file`) whose Range answers send only half the bytes they announce. */
  truncated: Set<string>;
  close(): Promise<void>;
}

/**
 * Start the stand-in.
 *
 * @example
 * const hub = await startHubServer();
 * hub.add('test/gpt2', { dir: 'test/fixtures/arch/gpt2' });
 * process.env.HF_ENDPOINT = hub.endpoint;
 */
export async function startHubServer(): Promise<HubServer> {
  const repos = new Map<string, HubRepo>();
  const etagSalt = new Map<string, number>();
  const log: HubRequest[] = [];
  const state = { noRange: false };
  const truncated = new Set<string>();

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(decodeURIComponent(url.pathname));
    const entry: HubRequest = {
      method: req.method ?? 'GET',
      repo: m?.[1] ?? '',
      revision: m?.[2] ?? '',
      file: m?.[3] ?? url.pathname,
      ...(req.headers.range ? { range: req.headers.range } : {}),
      authorized: req.headers.authorization !== undefined,
      status: 0,
      bytes: 0,
    };
    log.push(entry);
    const end = (status: number, body?: Uint8Array | string, headers: Record<string, string> = {}) => {
      entry.status = status;
      const data = typeof body === 'string' ? Buffer.from(body) : body;
      res.writeHead(status, { ...headers, 'Content-Length': String(data?.byteLength ?? 0) });
      if (data && req.method !== 'HEAD') {
        entry.bytes = data.byteLength;
        res.end(data);
      } else res.end();
    };
    const repo = m ? repos.get(m[1]!) : undefined;
    if (!m || !repo) return end(404, 'Repository not found', { 'X-Error-Code': 'RepoNotFound' });
    if (repo.token && req.headers.authorization !== `Bearer ${repo.token}`) {
      return end(401, 'Access to this model is restricted', { 'X-Error-Code': 'GatedRepo' });
    }
    const file = m[3]!;
    const listed = repo.files ?? null;
    const full = path.join(repo.dir, file);
    const inside = path.resolve(full).startsWith(path.resolve(repo.dir) + path.sep);
    let size: number;
    try {
      if (!inside || (listed && !listed.includes(file))) throw new Error('not served');
      size = statSync(full).size;
    } catch {
      return end(404, 'Entry not found', { 'X-Error-Code': 'EntryNotFound' });
    }
    const bytes = readFileSync(full);
    const key = `${m[1]}/${file}`;
    const etag = `"${createHash('sha256')
      .update(bytes)
      .update(String(etagSalt.get(key) ?? 0))
      .digest('hex')
      .slice(0, 32)}"`;
    const common = { ETag: etag, 'Accept-Ranges': state.noRange ? 'none' : 'bytes' };
    const range = req.headers.range;
    if (range && !state.noRange) {
      const r = /^bytes=(\d+)-(\d*)$/.exec(range);
      const start = r ? Number(r[1]) : NaN;
      const last = r && r[2] !== '' ? Math.min(Number(r[2]), size - 1) : size - 1;
      if (!r || !(start <= last)) return end(416, '', { ...common, 'Content-Range': `bytes */${size}` });
      // A truncated transfer: the body stops halfway through the range it announces.
      const cut = truncated.has(key) && last > start ? start + Math.floor((last - start + 1) / 2) : last + 1;
      return end(206, bytes.subarray(start, cut), {
        ...common,
        'Content-Range': `bytes ${start}-${last}/${size}`,
      });
    }
    return end(200, bytes, common);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    log,
    add: (repo, spec) => void repos.set(repo, spec),
    get noRange() {
      return state.noRange;
    },
    set noRange(v: boolean) {
      state.noRange = v;
    },
    truncated,
    bumpEtag: (repo, file) =>
      void etagSalt.set(`${repo}/${file}`, (etagSalt.get(`${repo}/${file}`) ?? 0) + 1),
    close: () => new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve()))),
  };
}
