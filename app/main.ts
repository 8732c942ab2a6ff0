import { mount } from 'svelte';
import App from './App.svelte';
import { captureShell, embeddedReportBytes } from './report/report-html';
import type { PageKind } from './state/notebook.svelte';
import './styles.css';

const target = document.getElementById('app');
if (!target) throw new Error('index.html has no #app element');

/** A report carries its data in the page; embed.html marks itself on <body>. */
function pageKind(): { page: PageKind; shell?: string } {
  try {
    const packed = embeddedReportBytes();
    if (packed) return { page: { kind: 'report', packed }, shell: captureShell() };
  } catch {
    // damaged data: the notebook state reports it when it tries to open the report
    return { page: { kind: 'report', packed: new Uint8Array() } };
  }
  return { page: { kind: document.body.dataset.page === 'embed' ? 'embed' : 'app' } };
}

export default mount(App, { target, props: pageKind() });
