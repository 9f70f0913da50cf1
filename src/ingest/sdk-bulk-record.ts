import { context, ValueType, type Attributes, type Context } from '@opentelemetry/api';

/**
 * Many values of one attribute set into an OpenTelemetry SDK synchronous instrument, with the
 * SDK's attribute lookup done once instead of once per value.
 *
 * Why by hand: the SDK (sdk-metrics 2.12, pinned) finds an attribute set's aggregation cell by
 * hashing the attributes on every `record()`/`add()` (sort the keys, JSON.stringify the pairs:
 * ~1.4 µs for two attributes on this machine, then a Map lookup on that fresh string). A JSON
 * push item carries up to 100k values of one attribute set, and that hash was 40% of the CPU of
 * B2 (bench/RESULTS.md). The API has no bulk or bound instrument (the spec dropped them).
 *
 * How: the first value goes through the public API, which creates the attribute set's cell in
 * the current collection interval (or records into the overflow cell at the cardinality limit).
 * Then the cell is looked up once in each of the instrument's storages and every other value is
 * recorded into it: what the SDK's own record does after its lookup. The SDK's per-value checks
 * that are skipped (a number; not negative for counters and histograms; an integer for INT
 * instruments) are the caller's (push values are validated, instruments are DOUBLE). If the
 * SDK's internals are not the shape read here (another SDK version), or the cell is not there
 * (overflow), every value goes through the public API: slower, never different
 * (test/unit/sdk-bulk-record.test.ts holds both paths to the same collected data, and fails if
 * the pinned SDK stops taking the fast one).
 */

/** One value into an instrument through the public API (`h.record(v, a)`, `c.add(v, a)`). */
export type RecordOne = (value: number, attrs: Attributes) => void;
export type RecordAll = (values: readonly number[], attrs: Attributes) => void;

/** The SDK's aggregation cell for one attribute set in one collection interval. */
interface Cell {
  record(value: number): void;
}

/** The parts of sdk-metrics' SyncMetricStorage read here (internal to the SDK). */
interface SyncStorage {
  _attributesProcessor?: { process(attrs: Attributes, ctx: Context): Attributes } | undefined;
  _deltaMetricStorage?: { _activeCollectionStorage?: { get(attrs: Attributes): Cell | undefined } };
}

/** The parts of sdk-metrics' SyncInstrument read here (internal to the SDK). */
interface SyncInstrumentInternals {
  _descriptor?: { valueType?: ValueType };
  _writableMetricStorage?: SyncStorage & { _backingStorages?: SyncStorage[] };
}

/**
 * `recordAll(values, attrs)` ≡ `for (v of values) recordOne(v, attrs)` for `instrument`;
 * `bulk` says whether the SDK's internals allowed the one-lookup path.
 */
export function bulkRecorder(
  instrument: object,
  recordOne: RecordOne,
): { recordAll: RecordAll; bulk: boolean } {
  const storages = syncStorages(instrument as SyncInstrumentInternals);
  const perValue: RecordAll = (values, attrs) => {
    for (const v of values) recordOne(v, attrs);
  };
  if (storages === null) return { recordAll: perValue, bulk: false };
  const recordAll: RecordAll = (values, attrs) => {
    const n = values.length;
    if (n === 0) return;
    recordOne(values[0]!, attrs);
    if (n === 1) return;
    const cells = storages.map((s) => cellOf(s, attrs));
    if (cells.some((c) => c === undefined)) {
      for (let i = 1; i < n; i++) recordOne(values[i]!, attrs);
      return;
    }
    for (const cell of cells as Cell[]) for (let i = 1; i < n; i++) cell.record(values[i]!);
  };
  return { recordAll, bulk: true };
}

/** The instrument's storages when they are the shape this file knows; null otherwise. */
function syncStorages(instrument: SyncInstrumentInternals): SyncStorage[] | null {
  if (instrument._descriptor?.valueType !== ValueType.DOUBLE) return null;
  const w = instrument._writableMetricStorage;
  if (w === undefined) return null;
  const storages = Array.isArray(w._backingStorages) ? w._backingStorages : [w];
  const known = storages.every(
    (s) =>
      typeof s._deltaMetricStorage?._activeCollectionStorage?.get === 'function' &&
      (s._attributesProcessor === undefined || typeof s._attributesProcessor.process === 'function'),
  );
  return known && storages.length > 0 ? storages : null;
}

/** The storage's cell for `attrs` (after its view's attribute processing), if it has one. */
function cellOf(storage: SyncStorage, attrs: Attributes): Cell | undefined {
  const key = storage._attributesProcessor?.process(attrs, context.active()) ?? attrs;
  // `_activeCollectionStorage` is replaced on every collection: read it on every call.
  return storage._deltaMetricStorage!._activeCollectionStorage!.get(key);
}
