// Preload for the CLI and benches: TypeScript via tsx, then WGSL-as-text (registered last, runs first).
import { register } from 'node:module';
import { register as registerTsx } from 'tsx/esm/api';

registerTsx();
register('./wgsl-loader.mjs', import.meta.url);
