/**
 * Where `--routing-log` points: Parquet files, a folder of them (one log split into parts), or
 * http(s) URLs read by Range requests (hyparquet's asyncBufferFromUrl), never whole.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { asyncBufferFromFile, asyncBufferFromUrl } from 'hyparquet';
import type { RoutingLogFile } from '../analyses/moe';

export async function routingLogFiles(args: readonly string[]): Promise<RoutingLogFile[]> {
  const out: RoutingLogFile[] = [];
  for (const arg of args) {
    if (/^https?:\/\//.test(arg)) {
      out.push({ name: arg, buffer: await asyncBufferFromUrl({ url: arg }) });
      continue;
    }
    const s = await stat(arg).catch(() => {
      throw new Error(`${arg}: no such routing-log file or folder`);
    });
    const files = s.isDirectory()
      ? (await readdir(arg))
          .filter((n) => n.endsWith('.parquet'))
          .sort()
          .map((n) => path.join(arg, n))
      : [arg];
    if (files.length === 0) throw new Error(`${arg}: the folder holds no .parquet file`);
    for (const f of files) out.push({ name: path.basename(f), buffer: await asyncBufferFromFile(f) });
  }
  return out;
}
