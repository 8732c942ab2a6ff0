/** WGSL sources are imported as text (Vite `?raw`; the CLI registers a Node loader for the same). */
declare module '*.wgsl?raw' {
  const source: string;
  export default source;
}
