import { CursorTrail, applyFacet, buildSearchParams, normalizeFacets } from './search-query';

describe('buildSearchParams', () => {
  it('sends the filled filters, repeats tags, prefixes metadata keys', () => {
    const p = buildSearchParams({
      q: ' annual report ', filename: '', tags: ['finance', 'report'], owner: 'alice', size_min: 10, size_max: null,
      retention_policy: 'permanent', meta: [{ key: 'project', value: 'alpha' }, { key: ' ', value: 'x' }],
      created_from: '2026-11-01', created_to: '2026-11-30', sort: 'size', order: 'asc', limit: 50, cursor: 'abc', facets: true,
    });
    expect(p.get('q')).toBe('annual report');
    expect(p.has('filename')).toBe(false);
    expect(p.getAll('tag')).toEqual(['finance', 'report']);
    expect(p.get('meta.project')).toBe('alpha');
    expect(p.keys().filter((k) => k.startsWith('meta.'))).toEqual(['meta.project']);
    expect(p.get('size_min')).toBe('10');
    expect(p.has('size_max')).toBe(false);
    expect(p.get('created_from')).toBe('2026-11-01T00:00:00Z');
    expect(p.get('created_to')).toBe('2026-11-30T23:59:59.999Z');
    expect(p.get('sort')).toBe('size');
    expect(p.get('order')).toBe('asc');
    expect(p.get('limit')).toBe('50');
    expect(p.get('cursor')).toBe('abc');
    expect(p.get('facets')).toBe('true');
    expect(p.get('retention_policy')).toBe('permanent');
  });

  it('sorts by relevance with text and by newest without', () => {
    expect(buildSearchParams({ q: 'x' }).get('sort')).toBe('relevance');
    expect(buildSearchParams({}).get('sort')).toBe('created_at');
    expect(buildSearchParams({ q: '', sort: 'relevance' }).get('sort')).toBe('created_at');
    expect(buildSearchParams({}).get('order')).toBe('desc');
    expect(buildSearchParams({}).get('limit')).toBe('25');
    expect(buildSearchParams({ retention_policy: '' }).has('retention_policy')).toBe(false);
  });
});

describe('CursorTrail', () => {
  it('goes forward with next cursors and back to earlier pages', () => {
    const t = new CursorTrail();
    expect(t.current).toBeNull();
    expect(t.hasPrevious).toBe(false);
    t.next('c1');
    t.next('c2');
    expect(t.current).toBe('c2');
    expect(t.pageIndex).toBe(2);
    t.previous();
    expect(t.current).toBe('c1');
    t.reset();
    expect(t.current).toBeNull();
    t.previous();
    expect(t.pageIndex).toBe(0);
  });
});

describe('facets', () => {
  it('normalises both shapes and sorts buckets by count', () => {
    const f = normalizeFacets({
      tag: [{ value: 'a', count: 1 }, { value: 'b', count: 5 }],
      content_type: { 'application/pdf': 3, 'image/png': 9 },
      empty: [],
    });
    expect(f).toEqual([
      { name: 'tag', buckets: [{ value: 'b', count: 5 }, { value: 'a', count: 1 }] },
      { name: 'content_type', buckets: [{ value: 'image/png', count: 9 }, { value: 'application/pdf', count: 3 }] },
    ]);
    expect(normalizeFacets(undefined)).toEqual([]);
  });

  it('turns a facet click into a filter', () => {
    expect(applyFacet({ tags: ['a'] }, 'tag', 'b').tags).toEqual(['a', 'b']);
    expect(applyFacet({ tags: ['a'] }, 'tags', 'a').tags).toEqual(['a']);
    expect(applyFacet({}, 'content_type', 'image/png').content_type).toBe('image/png');
    expect(applyFacet({}, 'retention_policy', 'temporary').retention_policy).toBe('temporary');
    expect(applyFacet({}, 'meta.project', 'alpha').meta).toEqual([{ key: 'project', value: 'alpha' }]);
    expect(applyFacet({ q: 'x' }, 'unknown', 'v')).toEqual({ q: 'x' });
    expect(applyFacet({}, 'year', '2025')).toMatchObject({ created_from: '2025-01-01', created_to: '2025-12-31' });
  });
});
