/**
 * Script-injection payloads for markdown, cell names, notebook titles and texts. Each one, if it
 * ever ran, would set `window.__xss` (or the parent's), so a test only has to read that flag.
 */
export const XSS_PAYLOADS: readonly string[] = [
  '<script>window.__xss = "script"</script>',
  '<img src=x onerror="window.__xss = \'img-onerror\'">',
  '<svg onload="window.__xss = \'svg-onload\'"><circle r="4"/></svg>',
  '<iframe srcdoc="<script>parent.__xss = \'srcdoc\'</script>"></iframe>',
  '<a href="javascript:window.__xss = \'js-href\'">click me</a>',
  "[markdown link](javascript:window.__xss='md-link')",
  '![md image](x" onerror="window.__xss=\'md-img\')',
  '<details open ontoggle="window.__xss = \'ontoggle\'"><summary>s</summary></details>',
  '<math><mtext><table><mglyph><style><img src=x onerror="window.__xss=\'mxss\'">',
  '<form action="javascript:window.__xss=\'form\'"><button>go</button></form>',
  '<object data="javascript:window.__xss=\'object\'"></object>',
  '<embed src="javascript:window.__xss=\'embed\'">',
  '<body onload="window.__xss=\'body\'">',
  '<input autofocus onfocus="window.__xss=\'autofocus\'">',
  '<style>@import "http://evil.invalid/x.css";</style>',
  '<meta http-equiv="refresh" content="0;url=javascript:window.__xss=\'meta\'">',
  '"><script>window.__xss="attr-break"</script>',
  '</script><script>window.__xss="script-close"</script>',
  '{{constructor.constructor("window.__xss=\'template\'")()}}',
];

/** All payloads as one markdown document. */
export function xssMarkdown(): string {
  return ['# Payloads', ...XSS_PAYLOADS.map((p, i) => `${i + 1}. ${p}`)].join('\n\n');
}
