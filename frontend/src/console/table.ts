// table.ts: keyed rows updated in place. A row is made once per key and
// then only its changed text is set, so focus, selection and the page's
// scroll survive the live updates, and nothing jumps.

export interface Rows<T> {
  /** sync makes the body hold exactly these items, in this order; it
   * fills the new rows, and the others only where refill says so (every
   * one without it). */
  sync(items: readonly T[], refill?: (key: string) => boolean): void;
  /** update refreshes one item's row, if it has one. */
  update(item: T): void;
  row(key: string): HTMLTableRowElement | undefined;
  keys(): IterableIterator<string>;
}

export function rows<T>(
  body: HTMLTableSectionElement,
  key: (t: T) => string,
  make: (t: T) => HTMLTableRowElement,
  fill: (tr: HTMLTableRowElement, t: T) => void,
): Rows<T> {
  const byKey = new Map<string, HTMLTableRowElement>();
  return {
    sync(items, refill) {
      const keep = new Set<string>();
      for (const it of items) keep.add(key(it));
      // The rows that go, first: one left above the others would make
      // every row after it "out of place" below, and each be moved (with
      // 500 calls, the whole table laid out again at every change).
      for (const [k, tr] of byKey) {
        if (!keep.has(k)) {
          tr.remove();
          byKey.delete(k);
        }
      }
      const seen = new Set<string>();
      let prev: HTMLTableRowElement | null = null;
      for (const it of items) {
        const k = key(it);
        if (seen.has(k)) continue;
        seen.add(k);
        let tr = byKey.get(k);
        if (!tr) {
          tr = make(it);
          byKey.set(k, tr);
          fill(tr, it);
        } else if (!refill || refill(k)) fill(tr, it);
        // Move only what is out of place.
        const want: ChildNode | null = prev ? prev.nextSibling : body.firstChild;
        if (want !== tr) body.insertBefore(tr, want);
        prev = tr;
      }
    },
    update(item) {
      const tr = byKey.get(key(item));
      if (tr) fill(tr, item);
    },
    row: (k) => byKey.get(k),
    keys: () => byKey.keys(),
  };
}

/** cell finds a row's [data-field=name] element. */
export function cell(tr: Element, name: string): HTMLElement {
  return tr.querySelector(`[data-field="${name}"]`) as HTMLElement;
}
