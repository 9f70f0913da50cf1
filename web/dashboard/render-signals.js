// @ts-check
import { h, renderKeyed, setAttr, setText } from './dom.js';
import { formatLabels, formatValue } from './format.js';
import { sparkline } from './sparkline.js';

/**
 * One card per signal (per group for grouped signals, a few at most): the current value and the
 * trend of its 10-minute buckets. The sparkline is rebuilt only when the buckets changed.
 */

/** @typedef {import('./types.js').Signal} Signal */
/** @typedef {import('./types.js').Trend} Trend */
/** @typedef {{ key: string, name: string, labels: string, value: number | null, unit: string, trend: Trend }} Card */

/** Groups shown per grouped signal: a signal by pod or route could have hundreds. */
const MAX_GROUPS = 8;

const DIRECTION_TEXT = { rising: '↗ rising', falling: '↘ falling', flat: '→ flat' };

/** The buckets each sparkline was drawn from. */
/** @type {WeakMap<Element, string>} */
const drawn = new WeakMap();

/**
 * @param {HTMLElement} list
 * @param {Readonly<Record<string, Signal>>} signals
 * @param {number} nowMs
 */
export function renderSignals(list, signals, nowMs) {
  /** @type {Card[]} */
  const cards = [];
  for (const [name, sig] of Object.entries(signals)) {
    if (sig.groups.length === 0) {
      cards.push({ key: name, name, labels: '', value: sig.value, unit: sig.unit, trend: sig.trend });
      continue;
    }
    const groups = [...sig.groups].sort((a, b) => (b.value ?? -Infinity) - (a.value ?? -Infinity));
    for (const g of groups.slice(0, MAX_GROUPS)) {
      const labels = formatLabels(g.labels);
      cards.push({ key: `${name}{${labels}}`, name, labels, value: g.value, unit: sig.unit, trend: g.trend });
    }
    if (groups.length > MAX_GROUPS)
      cards.push({
        key: `${name}{…}`,
        name,
        labels: `and ${groups.length - MAX_GROUPS} more groups (in the JSON report)`,
        value: null,
        unit: '',
        trend: { direction: 'flat', buckets: [] },
      });
  }
  renderKeyed(
    list,
    cards,
    (c) => c.key,
    () =>
      h(
        'li',
        { class: 'signal' },
        h(
          'div',
          { class: 'signal-head' },
          h('span', { class: 'signal-name' }),
          h('span', { class: 'signal-dir' }),
        ),
        h('div', { class: 'signal-labels' }),
        h(
          'div',
          { class: 'signal-body' },
          h('span', { class: 'signal-value' }),
          h('span', { class: 'spark-slot' }),
        ),
      ),
    (li, c) => {
      const [head, labels, body] = Array.from(li.children);
      const [name, dir] = Array.from(head?.children ?? []);
      const [value, slot] = Array.from(body?.children ?? []);
      setText(/** @type {Element} */ (name), c.name);
      setAttr(/** @type {Element} */ (name), 'title', c.name); // the card may cut a long name short
      setText(/** @type {Element} */ (labels), c.labels);
      /** @type {HTMLElement} */ (labels).hidden = c.labels === '';
      setText(/** @type {Element} */ (value), c.value === null ? 'no data' : formatValue(c.value, c.unit));
      setAttr(/** @type {Element} */ (value), 'data-empty', c.value === null ? 'true' : undefined);
      setText(
        /** @type {Element} */ (dir),
        c.trend.buckets.length > 0 ? DIRECTION_TEXT[c.trend.direction] : '',
      );
      setAttr(/** @type {Element} */ (dir), 'data-direction', c.trend.direction);
      const shape = JSON.stringify(c.trend.buckets);
      if (slot !== undefined && drawn.get(slot) !== shape) {
        drawn.set(slot, shape);
        slot.replaceChildren(
          sparkline(c.trend.buckets, nowMs, c.unit, c.labels ? `${c.name} ${c.labels}` : c.name),
        );
      }
    },
  );
}
