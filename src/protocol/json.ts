// Protocol values as JSON for people and tools: bytes marked {"$hex"} (small) or {"$base64"} (large),
// times as RFC 3339, integers beyond 2^53 as {"$bigint": "..."}.
export const HEX_MAX_BYTES = 64;

export function toJson(value: unknown): unknown {
  if (value instanceof Uint8Array) {
    const b = Buffer.from(value.buffer, value.byteOffset, value.length);
    return value.length <= HEX_MAX_BYTES ? { $hex: b.toString('hex') } : { $base64: b.toString('base64') };
  }
  if (value instanceof Date) return Number.isFinite(value.getTime()) ? value.toISOString() : null;
  if (typeof value === 'bigint') {
    return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(value) : { $bigint: value.toString() };
  }
  if (Array.isArray(value)) return value.map(toJson);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toJson(v);
    return out;
  }
  return value;
}

export function stringifyJson(value: unknown): string {
  return JSON.stringify(toJson(value), null, 2);
}
