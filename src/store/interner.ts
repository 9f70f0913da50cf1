/**
 * Shares one copy of short, repeated strings (attribute keys such as `http.route`, values such as
 * `GET` or `200`) among the series that hold them. Every decoder slices fresh strings out of its
 * request, so without this 100k series keep 100k copies of `method` (24 bytes each on V8).
 *
 * Bounded: long strings are never kept (they are rarely repeated and would pin memory), and the
 * table starts afresh when full, so a flood of unique values costs a lookup, not growth.
 */
export class Interner {
  private readonly table = new Map<string, string>();

  constructor(
    private readonly maxLength = 32,
    private readonly maxEntries = 8192,
  ) {}

  /** Strings held now. */
  get size(): number {
    return this.table.size;
  }

  intern(s: string): string {
    if (s.length > this.maxLength) return s;
    const shared = this.table.get(s);
    if (shared !== undefined) return shared;
    if (this.table.size >= this.maxEntries) this.table.clear();
    this.table.set(s, s);
    return s;
  }

  /** A right-sized copy of `attrs` with its strings interned (arrays grown by push keep spare capacity). */
  internAll(attrs: readonly string[]): string[] {
    const out = new Array<string>(attrs.length);
    for (let i = 0; i < attrs.length; i++) out[i] = this.intern(attrs[i]!);
    return out;
  }
}
