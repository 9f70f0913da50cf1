/**
 * Attribute values become label text the way the OTel Collector renders them (pdata
 * `Value.AsString`): strings as they are, numbers and booleans in their usual text,
 * arrays and maps as JSON.
 */
export function attributeText(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return v;
    case 'number':
    case 'boolean':
    case 'bigint':
      return String(v);
    case 'undefined':
      return '';
    default:
      return v === null ? '' : JSON.stringify(v);
  }
}
