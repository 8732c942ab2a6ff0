/**
 * Tokenize the bundled models' corpus with the RUNTIME's tokenizer, so the ids the models are
 * trained and evaluated on are exactly the ids Sparsebook produces for the same text.
 *
 * Each split/domain file (documents separated by `<|endoftext|>`) goes through runtime/text.ts
 * `buildTokenStream` (split, trim, drop empty, BOS + tokens per document, no EOS, concatenated) and
 * is written as little-endian uint16 ids to WORK/tokens/{split}-{domain}.u16, with counts in
 * WORK/tokens/manifest.json. Every document is also decoded back (`decodeAll`) and compared with
 * the trimmed original.
 *
 *   node --import ./cli/register.mjs tools/bundled-models/tokenize.ts TOKENIZER.bin WORK VALID_DIR
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildTokenStream, decodeUtf8Strict, splitDocuments } from '../../runtime/text';
import { BOS, Llama2cTokenizer } from '../../runtime/tokenizers/llama2c-tokenizer';

const DOMAINS = ['literature', 'speeches', 'email', 'code'] as const;

interface StreamInfo {
  file: string;
  documents: number;
  tokens: number;
  bytes: number;
  roundTripFailures: number;
  byteFallbackTokens: number;
  seconds: number;
}

function main(): void {
  const [tokPath, work, validDir] = process.argv.slice(2);
  if (!tokPath || !work || !validDir) {
    console.error('usage: tokenize.ts TOKENIZER.bin WORK_DIR VALID_DIR');
    process.exit(2);
  }
  const tokenizer = Llama2cTokenizer.load(readFileSync(tokPath), tokPath);
  const outDir = join(work, 'tokens');
  mkdirSync(outDir, { recursive: true });
  const manifest: Record<string, Record<string, StreamInfo>> = { train: {}, valid: {} };
  let failures = 0;
  for (const split of ['valid', 'train'] as const) {
    for (const domain of DOMAINS) {
      const file =
        split === 'valid'
          ? join(validDir, `valid-${domain}.txt`)
          : join(work, 'corpus', `train-${domain}.txt`);
      const t0 = performance.now();
      const text = decodeUtf8Strict(readFileSync(file), file);
      const stream = buildTokenStream(tokenizer, text, file);
      const { documents } = splitDocuments(text, file);
      let bad = 0;
      let byteTokens = 0;
      stream.documentStarts.forEach((start, d) => {
        const end =
          d + 1 < stream.documentStarts.length ? stream.documentStarts[d + 1]! : stream.tokens.length;
        const ids = stream.tokens.subarray(start, end);
        if (ids[0] !== BOS) throw new Error(`${file}: document ${d} does not start with BOS`);
        for (const id of ids) if (id >= 3 && id < 259) byteTokens++;
        if (tokenizer.decodeAll(ids) !== documents[d]) bad++;
      });
      if (stream.tokens.some((id) => id < 0 || id >= 65536)) throw new Error('ids do not fit uint16');
      const u16 = Uint16Array.from(stream.tokens);
      writeFileSync(join(outDir, `${split}-${domain}.u16`), new Uint8Array(u16.buffer));
      const info: StreamInfo = {
        file,
        documents: documents.length,
        tokens: u16.length,
        bytes: Buffer.byteLength(documents.join('')),
        roundTripFailures: bad,
        byteFallbackTokens: byteTokens,
        seconds: (performance.now() - t0) / 1000,
      };
      manifest[split]![domain] = info;
      failures += bad;
      console.log(
        `tokenize: ${split}-${domain}: ${info.documents} docs, ${info.tokens} tokens, ` +
          `${(info.bytes / info.tokens).toFixed(2)} bytes/token, byte-fallback ${byteTokens}, ` +
          `round-trip failures ${bad}, ${info.seconds.toFixed(1)} s`,
      );
    }
  }
  writeFileSync(join(outDir, 'manifest.json'), JSON.stringify(manifest, null, 1));
  if (failures > 0) {
    console.error(`tokenize: ${failures} documents did not round-trip through decodeAll(encode(doc))`);
    process.exit(1);
  }
}

main();
