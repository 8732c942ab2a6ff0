#!/usr/bin/env node
// `npm start`: serve the workbench with Vite and print its URL.
import { createServer } from 'vite';

const port = Number(process.env.PORT ?? 5173);
const server = await createServer({ configFile: 'vite.config.ts', server: { port, host: '127.0.0.1' } });
await server.listen();
const url = server.resolvedUrls?.local[0] ?? `http://127.0.0.1:${port}/`;
console.log(`\nSparsebook is running at ${url}\n(press Ctrl+C to stop)`);
