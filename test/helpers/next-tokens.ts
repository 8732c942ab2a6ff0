/** The next-token table of one `nextToken` job, decoded (what the worker tests assert on). */
import type { NextTokenTypes } from '../../runtime/tables';
import { readTable, type RuntimeClient } from '../../workers/runtime-client';

/**
 * @example
 * const top = await nextTokens(client, { text: 'Once upon a time', topK: 3 });
 */
export async function nextTokens(client: RuntimeClient, ...args: Parameters<RuntimeClient['nextToken']>) {
  return readTable<NextTokenTypes>((await client.nextToken(...args)).tables.next);
}
