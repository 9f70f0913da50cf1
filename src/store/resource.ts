import type { FlatAttrs } from './types.js';
import { tupleKey } from './canonical-key.js';

/** The attributes that identify a source (SPEC §3): two sources never merge into one series. */
export const IDENTITY_KEYS = ['service.namespace', 'service.name', 'service.instance.id'] as const;

/** What the OTel SDK calls a resource with no service.name. */
export const UNKNOWN_SERVICE = 'unknown_service';

/** A source: one resource identity, with the latest attributes it sent. */
export class ResourceEntry {
  readonly key: string;
  readonly serviceName: string;
  readonly serviceNamespace: string;
  readonly instanceId: string;
  /** All resource attributes, latest push wins (sorted by key). */
  attrs: FlatAttrs;
  /** Initialised here so it is stored unboxed (see Series.updatedMs). */
  updatedMs = 0;
  /** Streams that belong to this resource; the entry expires with its last stream. */
  streamCount = 0;

  constructor(attrs: FlatAttrs, nowMs: number) {
    const id = resourceIdentity(attrs);
    this.key = id.key;
    this.serviceName = id.name;
    this.serviceNamespace = id.namespace;
    this.instanceId = id.instance;
    this.attrs = attrs;
    this.updatedMs = nowMs;
  }
}

export function attrValue(attrs: FlatAttrs, key: string): string | undefined {
  for (let i = 0; i < attrs.length; i += 2) if (attrs[i] === key) return attrs[i + 1];
  return undefined;
}

export function resourceIdentity(attrs: FlatAttrs): {
  key: string;
  name: string;
  namespace: string;
  instance: string;
} {
  const namespace = attrValue(attrs, 'service.namespace') ?? '';
  const name = attrValue(attrs, 'service.name') || UNKNOWN_SERVICE;
  const instance = attrValue(attrs, 'service.instance.id') ?? '';
  return { key: tupleKey([namespace, name, instance]), name, namespace, instance };
}
