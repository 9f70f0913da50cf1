// @ts-check
/**
 * DOM building that never parses markup: every value the dashboard shows (label values, rule
 * texts, source names) comes from whoever pushes metrics, so it only ever becomes a text node or
 * an attribute value.
 */

const SVG_NS = 'http://www.w3.org/2000/svg';

/** @typedef {string | number | Node | null | undefined | false} Child */

/**
 * An element with attributes (`class`, `data-*`, `aria-*`, …: always setAttribute, so never
 * markup) and children (strings become text nodes; null / undefined / false are skipped).
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, string | number | boolean | undefined>} [attrs]
 * @param {...Child} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  setAttributes(el, attrs);
  append(el, children);
  return el;
}

/**
 * An SVG element (sparklines).
 * @param {string} tag
 * @param {Record<string, string | number | boolean | undefined>} [attrs]
 * @param {...Child} children
 * @returns {SVGElement}
 */
export function s(tag, attrs = {}, ...children) {
  const el = /** @type {SVGElement} */ (document.createElementNS(SVG_NS, tag));
  setAttributes(el, attrs);
  append(el, children);
  return el;
}

/**
 * @param {Element} el
 * @param {Record<string, string | number | boolean | undefined>} attrs
 */
function setAttributes(el, attrs) {
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    el.setAttribute(name, value === true ? '' : String(value));
  }
}

/**
 * @param {Element} el
 * @param {Child[]} children
 */
function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'number' ? String(c) : c);
  }
}

/**
 * Sets an element's text only when it differs, so a screen reader or a text selection is not
 * disturbed by an identical update every second.
 * @param {Element} el
 * @param {string} text
 */
export function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

/**
 * Sets (or removes, for undefined) an attribute only when it differs.
 * @param {Element} el
 * @param {string} name
 * @param {string | undefined} value
 */
export function setAttr(el, name, value) {
  if (value === undefined) el.removeAttribute(name);
  else if (el.getAttribute(name) !== value) el.setAttribute(name, value);
}

/**
 * Keyed list update: one element per key, created once and updated in place, moved only when
 * the order changes. Re-creating rows on every update would drop keyboard focus from their
 * buttons once a second.
 * @template T
 * @param {Element} container
 * @param {readonly T[]} items
 * @param {(item: T) => string} keyOf
 * @param {(item: T) => Element} create
 * @param {(el: Element, item: T) => void} update
 */
export function renderKeyed(container, items, keyOf, create, update) {
  /** @type {Map<string, Element>} */
  const existing = new Map();
  for (const child of Array.from(container.children)) {
    const key = child.getAttribute('data-key');
    if (key !== null) existing.set(key, child);
  }
  /** @type {Element | null} */
  let previous = null;
  for (const item of items) {
    const key = keyOf(item);
    let el = existing.get(key);
    if (el === undefined) {
      el = create(item);
      el.setAttribute('data-key', key);
    } else existing.delete(key);
    update(el, item);
    /** @type {Element | null} */
    const expectedNext = previous === null ? container.firstElementChild : previous.nextElementSibling;
    if (expectedNext !== el) {
      if (previous === null) container.prepend(el);
      else previous.after(el);
    }
    previous = el;
  }
  for (const stale of existing.values()) stale.remove();
}
