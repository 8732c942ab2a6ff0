/** Token strip: snapshot, visible whitespace and line breaks, hover / focus readout, roving focus, errors, screenshots. */
import { afterEach, describe, expect, it } from 'vitest';
import { tableFromArrays } from 'apache-arrow';
import { randomLcg } from 'd3';
import { tokenStrip } from '../../../app/charts/token-strip';
import { TOKENS } from './fixtures';
import { clearPage, mount, pointAt, pretty, shoot } from './helpers';

afterEach(clearPage);

function losses() {
  const rand = randomLcg(0.5);
  const loss = Float64Array.from(TOKENS, (_, i) => (i === 0 ? NaN : 6 * rand() ** 2));
  return tableFromArrays({ token: TOKENS, loss });
}

describe('tokenStrip', () => {
  it('matches the markup snapshot', async () => {
    const el = tokenStrip(losses(), {
      token: 'token',
      value: 'loss',
      domain: [0, 6],
      legend: 'loss (nats)',
      format: '.2f',
    });
    await expect(pretty(el)).toMatchFileSnapshot('./__snapshots__/token-strip.snap');
  });

  it('shows whitespace, breaks lines after newlines, and reads out hover and focus', () => {
    const el = tokenStrip(losses(), { token: 'token', value: 'loss', format: '.2f' });
    mount(el, 'light', 420);
    const chips = [...el.querySelectorAll<HTMLElement>('.sb-token')];
    expect(chips.map((c) => c.textContent).slice(12, 16)).toEqual(['·Lily', '.', '↵', 'She']);
    expect(chips[15]!.getBoundingClientRect().top).toBeGreaterThan(chips[13]!.getBoundingClientRect().top); // new line after ↵
    expect(chips[0]!.getAttribute('aria-label')).toBe('token “<s>”, loss no value');
    const out = el.querySelector<HTMLElement>('.sb-readout')!;
    pointAt(chips[2]!, 'pointerover', 2, 2);
    expect(out.textContent).toMatch(/^“·upon” \(position 2\): loss \d\.\d\d$/);
    chips[0]!.focus();
    chips[0]!.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowRight', bubbles: true }));
    expect(document.activeElement).toBe(chips[1]);
    expect(chips.filter((c) => c.tabIndex === 0)).toEqual([chips[1]]);
    expect(out.dataset.index).toBe('1');
    chips[1]!.dispatchEvent(new KeyboardEvent('keydown', { key: 'End', bubbles: true }));
    expect(document.activeElement).toBe(chips.at(-1));
  });

  it('colours diverging values around a centre, with readable ink', () => {
    const t = tableFromArrays({ token: ['a', 'b', 'c'], v: Float64Array.from([-2, 0, 2]) });
    const el = tokenStrip(t, { token: 'token', value: 'v', scale: 'diverging' });
    const [neg, mid, pos] = [...el.querySelectorAll<HTMLElement>('.sb-token')].map((c) =>
      getComputedStyle(mount(c) && c),
    );
    expect(neg!.backgroundColor).toBe('rgb(5, 48, 97)');
    expect(neg!.color).toBe('rgb(255, 255, 255)');
    expect(mid!.color).toBe('rgb(17, 20, 24)');
    expect(pos!.backgroundColor).toBe('rgb(103, 0, 31)');
  });

  it('picks a token on click or Enter and marks the picked one', () => {
    const picks: number[] = [];
    const el = tokenStrip(losses(), {
      token: 'token',
      value: 'loss',
      picked: 2,
      onPick: (i) => picks.push(i),
    });
    mount(el);
    const chips = [...el.querySelectorAll<HTMLElement>('.sb-token')];
    expect(el.querySelectorAll('[aria-current="true"]')).toHaveLength(1);
    expect(chips[2]!.getAttribute('aria-current')).toBe('true');
    chips[4]!.click();
    chips[1]!.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
    expect(picks).toEqual([4, 1]);
    expect(chips[0]!.style.cursor).toBe('pointer');
  });

  it('names bad options', () => {
    const t = losses();
    expect(() => tokenStrip(t, { token: 'text', value: 'loss' })).toThrow(
      'tokenStrip: column "text" not in table (columns: token, loss)',
    );
    expect(() =>
      tokenStrip(t, { token: 'token', value: 'loss', scale: 'diverging', scheme: 'viridis' }),
    ).toThrow(
      'tokenStrip: scheme "viridis" is not a diverging scheme (use one of burd, rdbu, piyg, puor, brbg)',
    );
  });

  for (const theme of ['light', 'dark'] as const) {
    it(`screenshot (${theme})`, async () => {
      const el = tokenStrip(losses(), {
        token: 'token',
        value: 'loss',
        domain: [0, 6],
        legend: 'loss (nats)',
        title: 'Per-token loss',
        format: '.2f',
      });
      const box = mount(el, theme, 560);
      pointAt(el.querySelectorAll('.sb-token')[12]!, 'pointerover', 2, 2);
      await shoot(box, `token-strip-${theme}`);
    });
  }
});
