/** Page-level messages: an error that refused an action, or information. */
import { describeError } from './errors';

export interface Notice {
  kind: 'error' | 'info';
  title: string;
  message: string;
}

/** `e` as an error notice under `title`. */
export function errorNotice(e: unknown, title: string): Notice {
  return { kind: 'error', title, message: describeError(e).message };
}

/** The notebook is open in another tab, so this tab edits a copy. */
export function copyNotice(title: string): Notice {
  return {
    kind: 'info',
    title: 'Opened a copy',
    message: `“${title}” is open in another tab, so this tab edits a copy of it (saved once you change it).`,
  };
}
