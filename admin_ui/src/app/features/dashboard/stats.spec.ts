import { dayRows, groupRows, normalizeStats } from './stats';

describe('dashboard stats', () => {
  it('reads groups as arrays or maps', () => {
    expect(groupRows([{ mode: 'rw', files: 2, bytes: 10 }])).toEqual([{ key: 'rw', files: 2, bytes: 10 }]);
    expect(groupRows({ temporary: { files: 1, bytes: 5 }, permanent: { count: 3, size: 7 } })).toEqual([
      { key: 'temporary', files: 1, bytes: 5 }, { key: 'permanent', files: 3, bytes: 7 },
    ]);
    expect(groupRows(null)).toEqual([]);
  });

  it('fills the 30 days with zeros where nothing was uploaded', () => {
    const rows = dayRows([{ day: '2026-11-25', files: 4 }, { date: '2026-11-26T00:00:00Z', count: 2 }], new Date('2026-11-26T12:00:00Z'));
    expect(rows).toHaveLength(30);
    expect(rows[0].day).toBe('2026-10-28');
    expect(rows[28]).toEqual({ day: '2026-11-25', files: 4, bytes: 0 });
    expect(rows[29]).toEqual({ day: '2026-11-26', files: 2, bytes: 0 });
    expect(rows[10].files).toBe(0);
  });

  it('totals from the retention groups', () => {
    const s = normalizeStats({
      retention_policies: [{ retention_policy: 'temporary', files: 2, bytes: 100 }, { retention_policy: 'permanent', files: 3, bytes: 900 }],
      modes: { rw: { files: 5, bytes: 1000 } },
      latest_uploads: [],
    }, new Date('2026-11-26T00:00:00Z'));
    expect(s.totalFiles).toBe(5);
    expect(s.totalBytes).toBe(1000);
    expect(s.byMode).toEqual([{ key: 'rw', files: 5, bytes: 1000 }]);
    expect(s.uploadsPerDay).toHaveLength(30);
    expect(normalizeStats({ totals: { files: 7, bytes: 70 }, modes: [] }).totalFiles).toBe(7);
  });
});
