/**
 * How the tests start Debian's Chromium. WebGPU needs only --enable-unsafe-webgpu (the adapter is
 * SwiftShader). The networking flags stop Chromium from calling home on this closed network.
 */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--enable-unsafe-webgpu',
  '--no-sandbox',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];
