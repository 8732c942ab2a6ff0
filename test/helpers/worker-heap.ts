/**
 * The JS heap of a page's Web Worker, read through the Chrome DevTools Protocol while it works:
 * `Runtime.getHeapUsage` on the worker's own target gives the V8 heap in use (`usedSize`) and the
 * bytes of ArrayBuffer backing stores (`backingStorageSize`, where typed arrays keep their data);
 * their sum is what the worker holds in JavaScript. Chromium must be started with
 * `--remote-debugging-port=PORT` (Playwright drives it over a pipe; this connects beside it, with
 * a minimal WebSocket client: Node 20 has none built in).
 */
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { createServer, type Socket } from 'node:net';

/** A text-only WebSocket client (RFC 6455): enough for the DevTools protocol. */
async function openSocket(
  url: string,
  onText: (text: string) => void,
): Promise<{ send(text: string): void; close(): void }> {
  const u = new URL(url);
  const socket = await new Promise<Socket>((resolve, reject) => {
    const req = request({
      host: u.hostname,
      port: u.port,
      path: u.pathname + u.search,
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
      },
    });
    req.once('upgrade', (_res, s: Socket) => resolve(s));
    req.once('response', (res) => reject(new Error(`no WebSocket upgrade: HTTP ${res.statusCode}`)));
    req.once('error', reject);
    req.end();
  });
  let buf = Buffer.alloc(0);
  let parts: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    for (;;) {
      if (buf.length < 2) return;
      const fin = (buf[0]! & 0x80) !== 0;
      const opcode = buf[0]! & 0x0f;
      let len = buf[1]! & 0x7f;
      let at = 2;
      if (len === 126) {
        if (buf.length < 4) return;
        len = buf.readUInt16BE(2);
        at = 4;
      } else if (len === 127) {
        if (buf.length < 10) return;
        len = Number(buf.readBigUInt64BE(2));
        at = 10;
      }
      if (buf.length < at + len) return;
      const payload = buf.subarray(at, at + len);
      buf = buf.subarray(at + len);
      if (opcode === 0x8) return void socket.end();
      if (opcode === 0x1 || opcode === 0x0) {
        parts.push(Buffer.from(payload));
        if (fin) {
          const text = Buffer.concat(parts).toString('utf8');
          parts = [];
          onText(text);
        }
      }
    }
  });
  const frame = (opcode: number, data: Buffer) => {
    const mask = randomBytes(4);
    const len = data.length;
    const head =
      len < 126
        ? Buffer.from([0x80 | opcode, 0x80 | len])
        : len < 65536
          ? Buffer.from([0x80 | opcode, 0x80 | 126, len >> 8, len & 0xff])
          : Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | 127]), Buffer.alloc(8)]);
    if (len >= 65536) head.writeBigUInt64BE(BigInt(len), 2);
    const masked = Buffer.from(data);
    for (let i = 0; i < masked.length; i++) masked[i]! ^= mask[i & 3]!;
    socket.write(Buffer.concat([head, mask, masked]));
  };
  return {
    send: (text) => frame(0x1, Buffer.from(text, 'utf8')),
    close: () => {
      frame(0x8, Buffer.alloc(0));
      socket.end();
    },
  };
}

/** A free TCP port on 127.0.0.1 for --remote-debugging-port. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface HeapSample {
  /** ms since `start`. */
  t: number;
  /** usedSize + backingStorageSize. */
  bytes: number;
  used: number;
  backing: number;
}

export interface WorkerHeap {
  /** The heap now. */
  read(): Promise<HeapSample>;
  /** Run a full garbage collection in the worker. */
  gc(): Promise<void>;
  /** Sample every `intervalMs` (each sample waits for the previous answer) until `stop`. */
  start(intervalMs?: number): void;
  stop(): Promise<{ peak: HeapSample; samples: HeapSample[] }>;
  close(): void;
}

/**
 * Attach to the first worker whose URL matches `match` (waiting up to `timeoutMs` for it).
 *
 * @example
 * const heap = await attachWorkerHeap(port, /runtime\.worker/);
 * heap.start(20); … ; const { peak } = await heap.stop();
 */
export async function attachWorkerHeap(port: number, match: RegExp, timeoutMs = 60_000): Promise<WorkerHeap> {
  const version = (await (await fetch(`http://127.0.0.1:${port}/json/version`)).json()) as {
    webSocketDebuggerUrl: string;
  };
  let nextId = 0;
  const pending = new Map<number, (m: { result?: unknown; error?: { message: string } }) => void>();
  const ws = await openSocket(version.webSocketDebuggerUrl, (text) => {
    const m = JSON.parse(text) as { id?: number; result?: unknown; error?: { message: string } };
    if (m.id !== undefined) pending.get(m.id)?.(m);
    if (m.id !== undefined) pending.delete(m.id);
  });
  const send = <T>(method: string, params: object = {}, sessionId?: string): Promise<T> =>
    new Promise((resolve, reject) => {
      const id = ++nextId;
      pending.set(id, (m) =>
        m.error ? reject(new Error(`${method}: ${m.error.message}`)) : resolve(m.result as T),
      );
      ws.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    });
  const deadline = Date.now() + timeoutMs;
  let targetId: string | undefined;
  while (!targetId) {
    const { targetInfos } = await send<{ targetInfos: { targetId: string; type: string; url: string }[] }>(
      'Target.getTargets',
    );
    targetId = targetInfos.find((t) => t.type === 'worker' && match.test(t.url))?.targetId;
    if (!targetId) {
      if (Date.now() > deadline) throw new Error(`no worker matching ${match} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const { sessionId } = await send<{ sessionId: string }>('Target.attachToTarget', {
    targetId,
    flatten: true,
  });
  let t0 = Date.now();
  const read = async (): Promise<HeapSample> => {
    const u = await send<{ usedSize: number; backingStorageSize?: number }>(
      'Runtime.getHeapUsage',
      {},
      sessionId,
    );
    const backing = u.backingStorageSize ?? 0;
    return { t: Date.now() - t0, bytes: u.usedSize + backing, used: u.usedSize, backing };
  };
  let running = false;
  let loop: Promise<void> | undefined;
  const samples: HeapSample[] = [];
  return {
    read,
    gc: () => send('HeapProfiler.collectGarbage', {}, sessionId).then(() => undefined),
    start(intervalMs = 20) {
      t0 = Date.now();
      samples.length = 0;
      running = true;
      loop = (async () => {
        while (running) {
          samples.push(await read());
          await new Promise((r) => setTimeout(r, intervalMs));
        }
      })();
    },
    async stop() {
      running = false;
      await loop;
      samples.push(await read());
      const peak = samples.reduce((a, b) => (b.bytes > a.bytes ? b : a));
      return { peak, samples: [...samples] };
    },
    close: () => ws.close(),
  };
}
