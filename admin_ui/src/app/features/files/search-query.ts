import { HttpParams } from '@angular/common/http';

export type SortField = 'relevance' | 'created_at' | 'size' | 'filename';
export type SortOrder = 'asc' | 'desc';

export interface SearchQuery {
  q?: string;
  filename?: string;
  content_type?: string;
  tags?: string[];
  owner?: string;
  created_from?: string;
  created_to?: string;
  size_min?: number | null;
  size_max?: number | null;
  retention_policy?: '' | 'temporary' | 'permanent';
  storage_element_id?: string;
  /** `meta.<key>=<value>` filters. */
  meta?: { key: string; value: string }[];
  sort?: SortField;
  order?: SortOrder;
  limit?: number;
  cursor?: string | null;
  facets?: boolean;
}

/** A date-only bound ("2026-11-01") becomes the start or end of that day in UTC. */
export function dateBound(value: string | undefined, end: boolean): string | undefined {
  if (!value) return undefined;
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return `${value}T${end ? '23:59:59.999' : '00:00:00'}Z`;
  return value;
}

/** The query string of `GET /api/v1/search`: blank filters are left out, tags repeat. */
export function buildSearchParams(query: SearchQuery): HttpParams {
  let params = new HttpParams();
  const put = (key: string, value: string | number | null | undefined) => {
    if (value === null || value === undefined) return;
    const text = String(value).trim();
    if (text !== '') params = params.append(key, text);
  };
  put('q', query.q);
  put('filename', query.filename);
  put('content_type', query.content_type);
  for (const tag of query.tags ?? []) put('tag', tag);
  put('owner', query.owner);
  put('created_from', dateBound(query.created_from, false));
  put('created_to', dateBound(query.created_to, true));
  put('size_min', query.size_min);
  put('size_max', query.size_max);
  put('retention_policy', query.retention_policy);
  put('storage_element_id', query.storage_element_id);
  for (const { key, value } of query.meta ?? []) {
    if (key.trim()) put(`meta.${key.trim()}`, value);
  }
  // Relevance only means something with a text query; without one the newest come first.
  const sort = query.sort ?? (query.q?.trim() ? 'relevance' : 'created_at');
  put('sort', sort === 'relevance' && !query.q?.trim() ? 'created_at' : sort);
  put('order', query.order ?? 'desc');
  put('limit', query.limit ?? 25);
  put('cursor', query.cursor);
  if (query.facets) params = params.set('facets', 'true');
  return params;
}

/** Keyset paging: a stack of the cursors that opened each page seen so far. */
export class CursorTrail {
  private readonly trail: (string | null)[] = [null];

  get current(): string | null {
    return this.trail[this.trail.length - 1];
  }
  get pageIndex(): number {
    return this.trail.length - 1;
  }
  get hasPrevious(): boolean {
    return this.trail.length > 1;
  }
  next(cursor: string): void {
    this.trail.push(cursor);
  }
  previous(): void {
    if (this.hasPrevious) this.trail.pop();
  }
  reset(): void {
    this.trail.splice(1);
  }
}

export interface Facet {
  name: string;
  buckets: { value: string; count: number }[];
}

/** Facets arrive as `{field: [{value,count}]}` or `{field: {value: count}}`; both become a list. */
export function normalizeFacets(raw: unknown): Facet[] {
  if (!raw || typeof raw !== 'object') return [];
  return Object.entries(raw as Record<string, unknown>)
    .map(([name, value]) => {
      let buckets: { value: string; count: number }[] = [];
      if (Array.isArray(value)) {
        buckets = value.map((b: Record<string, unknown>) => ({
          value: String(b['value'] ?? b['key'] ?? ''),
          count: Number(b['count'] ?? 0),
        }));
      } else if (value && typeof value === 'object') {
        buckets = Object.entries(value as Record<string, unknown>).map(([v, c]) => ({ value: v, count: Number(c) }));
      }
      return { name, buckets: buckets.filter((b) => b.value !== '').sort((a, b) => b.count - a.count) };
    })
    .filter((facet) => facet.buckets.length > 0);
}

/** Which search parameter a facet's buckets narrow. */
export function applyFacet(query: SearchQuery, facet: string, value: string): SearchQuery {
  switch (facet) {
    case 'tag':
    case 'tags':
      return { ...query, tags: [...new Set([...(query.tags ?? []), value])] };
    case 'content_type':
    case 'owner':
    case 'storage_element_id':
      return { ...query, [facet]: value };
    case 'year':
      return /^\d{4}$/.test(value) ? { ...query, created_from: `${value}-01-01`, created_to: `${value}-12-31` } : query;
    case 'retention_policy':
      return { ...query, retention_policy: value as 'temporary' | 'permanent' };
    default:
      if (facet.startsWith('meta.')) return { ...query, meta: [...(query.meta ?? []), { key: facet.slice(5), value }] };
      return query;
  }
}
