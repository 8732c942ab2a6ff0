/**
 * Offer text to the user as a file download (the notebook's Save, a cell's export): a blob URL
 * clicked through a temporary link, revoked shortly after.
 *
 * @example
 * downloadText('attention-best-config.json', json);
 */
export function downloadText(name: string, text: string, type = 'application/json'): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
