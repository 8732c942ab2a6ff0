/**
 * A local stand-in for the Hugging Face hub, started by the tests themselves: a Node HTTP server on
 * 127.0.0.1 serving folders under the hub's URL layout `/{org}/{name}/resolve/{revision}/{file}`,
 * with Range requests (206 + Content-Range), ETag, HEAD, 404, optional Bearer-token gating, and a
 * log of every request, so tests can see what was downloaded. Nothing reaches the internet.
 *
 * Like the hub it answers CORS requests from any origin (preflight included, the Authorization
 * and Range headers allowed, ETag and the range headers exposed), so an app on another port can
 * load from it. Files are read range by range (a test may serve a file of hundreds of MB), and
 * `bytesPerSecond` slows the bodies down so a test can cancel a transfer in flight.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
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
  /** The client went away before the body was sent completely (a cancelled download). */
  aborted?: boolean;
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
  /** Send bodies at about this many bytes per second (0: as fast as possible). */
  bytesPerSecond: number;
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
  const state = { noRange: false, bytesPerSecond: 0 };
  const etags = new Map<string, { mtimeMs: number; size: number; salt: number; etag: string }>();
  const truncated = new Set<string>();

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(decodeURIComponent(url.pathname));
    const cors = {
      'Access-Control-Allow-Origin': '*',
      'Access-Control-Expose-Headers':
        'ETag, X-Linked-Etag, Accept-Ranges, Content-Range, Content-Length, X-Error-Code',
    };
    if (req.method === 'OPTIONS') {
      res.writeHead(204, {
        ...cors,
        'Access-Control-Allow-Methods': 'GET, HEAD, OPTIONS',
        'Access-Control-Allow-Headers': 'Authorization, Range',
        'Access-Control-Max-Age': '600',
      });
      res.end();
      return;
    }
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
      res.writeHead(status, { ...cors, ...headers, 'Content-Length': String(data?.byteLength ?? 0) });
      if (data && req.method !== 'HEAD') {
        entry.bytes = data.byteLength;
        res.end(data);
      } else res.end();
    };
    /** `length` bytes of `file` from `start`, read piece by piece (throttled when asked). */
    const send = (
      status: number,
      file: string,
      start: number,
      length: number,
      headers: Record<string, string>,
    ) => {
      entry.status = status;
      res.writeHead(status, { ...cors, ...headers, 'Content-Length': String(length) });
      if (req.method === 'HEAD') return void res.end();
      const fd = openSync(file, 'r');
      let sent = 0;
      let closed = false;
      const finish = () => {
        if (closed) return;
        closed = true;
        closeSync(fd);
      };
      res.on('close', () => {
        if (sent < length) entry.aborted = true;
        finish();
      });
      const piece =
        state.bytesPerSecond > 0 ? Math.max(1024, Math.floor(state.bytesPerSecond / 20)) : 1 << 20;
      const pump = () => {
        while (!closed && sent < length) {
          const n = Math.min(piece, length - sent);
          const buf = Buffer.alloc(n);
          readSync(fd, buf, 0, n, start + sent);
          sent += n;
          entry.bytes = sent;
          const more = res.write(buf);
          if (sent >= length) break;
          if (state.bytesPerSecond > 0) return void setTimeout(pump, (n / state.bytesPerSecond) * 1000);
          if (!more) return void res.once('drain', pump);
        }
        if (!closed && sent >= length) {
          finish();
          res.end();
        }
      };
      pump();
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
    const key = `${m[1]}/${file}`;
    const etag = etagOf(full, key);
    const common = { ETag: etag, 'Accept-Ranges': state.noRange ? 'none' : 'bytes' };
    const range = req.headers.range;
    if (range && !state.noRange) {
      const r = /^bytes=(\d+)-(\d*)$/.exec(range);
      const start = r ? Number(r[1]) : NaN;
      const last = r && r[2] !== '' ? Math.min(Number(r[2]), size - 1) : size - 1;
      if (!r || !(start <= last)) return end(416, '', { ...common, 'Content-Range': `bytes */${size}` });
      // A truncated transfer: the body stops halfway through the range it announces.
      if (truncated.has(key) && last > start) {
        const cut = start + Math.floor((last - start + 1) / 2);
        const part = Buffer.alloc(cut - start);
        const fd = openSync(full, 'r');
        readSync(fd, part, 0, part.byteLength, start);
        closeSync(fd);
        return end(206, part, { ...common, 'Content-Range': `bytes ${start}-${last}/${size}` });
      }
      return send(206, full, start, last - start + 1, {
        ...common,
        'Content-Range': `bytes ${start}-${last}/${size}`,
      });
    }
    return send(200, full, 0, size, common);
  });

  /** The ETag of a file: a hash of its bytes (and of the bump count), computed once per version. */
  function etagOf(full: string, key: string): string {
    const { mtimeMs, size } = statSync(full);
    const salt = etagSalt.get(key) ?? 0;
    const known = etags.get(key);
    if (known && known.mtimeMs === mtimeMs && known.size === size && known.salt === salt) return known.etag;
    const hash = createHash('sha256');
    const fd = openSync(full, 'r');
    const buf = Buffer.alloc(1 << 20);
    try {
      for (let at = 0; at < size;) {
        const n = readSync(fd, buf, 0, buf.byteLength, at);
        if (n === 0) break;
        hash.update(buf.subarray(0, n));
        at += n;
      }
    } finally {
      closeSync(fd);
    }
    const etag = `"${hash.update(String(salt)).digest('hex').slice(0, 32)}"`;
    etags.set(key, { mtimeMs, size, salt, etag });
    return etag;
  }
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
    get bytesPerSecond() {
      return state.bytesPerSecond;
    },
    set bytesPerSecond(v: number) {
      state.bytesPerSecond = v;
    },
    bumpEtag: (repo, file) =>
      void etagSalt.set(`${repo}/${file}`, (etagSalt.get(`${repo}/${file}`) ?? 0) + 1),
    close: () => new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve()))),
  };
}
