/** Tests only: translated output made comparable with recorded fixtures (ids and times are random). */

const ID = /^(msg|toolu|resp|fc|call)_[0-9a-f]{12}$/;

export interface SseEvent {
  event: string | null;
  data: unknown;
}

export function parseSse(text: string): SseEvent[] {
  return text
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const lines = block.split('\n');
      const event = lines.find((l) => l.startsWith('event: '))?.slice(7) ?? null;
      const data = lines.filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
      return { event, data: JSON.parse(data) as unknown };
    });
}

/** Replaces generated ids with `<kind-N>` (same id, same placeholder) and timestamps with 0. */
export function normalize<T>(value: T): T {
  const ids = new Map<string, string>();
  const walk = (v: unknown, key: string | null): unknown => {
    if (typeof v === 'string' && ID.test(v)) {
      if (!ids.has(v)) ids.set(v, `<${v.split('_')[0]}-${ids.size + 1}>`);
      return ids.get(v);
    }
    if (typeof v === 'number' && key === 'created_at') return 0;
    if (Array.isArray(v)) return v.map((item) => walk(item, null));
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, item]) => [k, walk(item, k)]));
    return v;
  };
  return walk(value, null) as T;
}
