/**
 * <sparsebook-cell src="report.html" cell="c1a2b3c4" controls="off" theme="dark">
 *
 * One cell of an exported Sparsebook report inside any page. The report opens in a sandboxed-origin
 * iframe showing only that cell (`report.html#cell=…`); the frame is as wide as the element's
 * container and as tall as the cell, which it reports by postMessage whenever its height changes.
 * The sandbox (SANDBOX below) gives the frame an opaque origin even when the report sits beside
 * the host page, so a report from anywhere cannot read the host's cookies, storage or DOM.
 * Attributes:
 *   src       the report's URL (relative to the page, or absolute)
 *   cell      the cell id (each cell's "Copy embed code" gives it)
 *   controls  "off" hides the cell's header and parameters (default: shown)
 *   theme     "light" or "dark" forces a theme (default: the host's prefers-color-scheme)
 *   height    starting height in px before the cell has reported its own (default 360)
 * Plain JavaScript with no dependencies, so a host page can load it as it is:
 *   <script type="module" src="sparsebook-cell.js"></script>
 */
const SIZE_MESSAGE = 'sparsebook-cell-size';

/**
 * Exactly what an embedded cell needs: scripts (the report renders its charts), popups that leave
 * the sandbox (a link in a markdown cell opens in a new tab as an ordinary page) and downloads (a
 * cell's download buttons). Never allow-same-origin: with allow-scripts it would let a same-origin
 * report remove its own sandbox. No forms, modals, top navigation or pointer lock. The frame keeps
 * working without its origin: it reads no storage (the theme comes from the `theme` attribute or
 * the host's prefers-color-scheme) and talks to the host only by postMessage.
 */
const SANDBOX = 'allow-scripts allow-popups allow-popups-to-escape-sandbox allow-downloads';

class SparsebookCell extends HTMLElement {
  static observedAttributes = ['src', 'cell', 'controls', 'theme'];

  constructor() {
    super();
    const root = this.attachShadow({ mode: 'open' });
    const style = document.createElement('style');
    style.textContent =
      ':host{display:block;width:100%;min-width:0}iframe{display:block;width:100%;border:0;color-scheme:normal}' +
      'p{font:0.9rem system-ui,sans-serif;color:#b42318;margin:0}';
    this.frame = document.createElement('iframe');
    // Set before the frame has a src: sandbox flags apply from its next navigation on.
    this.frame.setAttribute('sandbox', SANDBOX);
    this.frame.setAttribute('loading', 'lazy');
    this.frame.style.height = `${Number(this.getAttribute('height')) || 360}px`;
    root.append(style, this.frame);
    this.onMessage = (event) => {
      if (event.source !== this.frame.contentWindow) return;
      const data = event.data;
      if (!data || data.type !== SIZE_MESSAGE || typeof data.height !== 'number') return;
      if (data.height > 0 && data.height < 100000) this.frame.style.height = `${Math.ceil(data.height)}px`;
    };
  }

  connectedCallback() {
    window.addEventListener('message', this.onMessage);
    this.update();
  }

  disconnectedCallback() {
    window.removeEventListener('message', this.onMessage);
  }

  attributeChangedCallback() {
    if (this.isConnected) this.update();
  }

  update() {
    const src = this.getAttribute('src');
    const cell = this.getAttribute('cell');
    if (!src || !cell) {
      this.showError('sparsebook-cell needs both a src (the report) and a cell (its id) attribute');
      return;
    }
    const params = new URLSearchParams({ cell });
    if (['off', 'false', '0', 'no'].includes((this.getAttribute('controls') ?? '').toLowerCase()))
      params.set('controls', '0');
    const theme = this.getAttribute('theme');
    if (theme === 'light' || theme === 'dark') params.set('theme', theme);
    const url = new URL(src, document.baseURI);
    url.hash = params.toString();
    this.frame.title = this.getAttribute('title') ?? `Sparsebook cell ${cell}`;
    if (this.frame.src !== url.href) this.frame.src = url.href;
    this.shadowRoot.querySelector('p')?.remove();
  }

  showError(message) {
    const p = this.shadowRoot.querySelector('p') ?? document.createElement('p');
    p.textContent = message;
    this.shadowRoot.append(p);
  }
}

if (!customElements.get('sparsebook-cell')) customElements.define('sparsebook-cell', SparsebookCell);
