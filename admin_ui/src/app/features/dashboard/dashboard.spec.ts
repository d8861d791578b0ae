import { HttpTestingController } from '@angular/common/http/testing';
import { TestBed } from '@angular/core/testing';

import { settle, setupHttp, wait } from '../../testing/harness';
import { DashboardPage } from './dashboard';

const GiB = 1024 ** 3;
const se = (id: string, mode: string, status: string, used: number, total: number) => ({
  id, name: id, url: `http://${id}`, mode, status, priority: 1, file_count: 0, registered_at: '2026-11-01T00:00:00Z',
  updated_at: '2026-11-26T00:00:00Z', capacity: { total: total * GiB, used: used * GiB, free: (total - used) * GiB, reserved: 0 },
});
const instance = (kind: string, id: string, status: string) => ({
  kind, instance_id: id, url: `http://${id}`, version: '0.1.0', started_at: '2026-11-26T00:00:00Z', last_seen_at: '2026-11-26T10:00:00Z', status,
});
const STATS = {
  totals: { files: 30, bytes: 12 * GiB },
  storage_elements: [{ storage_element_id: 'rw-1', mode: 'rw', files: 25, bytes: 10 * GiB }],
  modes: [{ mode: 'rw', files: 25, bytes: 10 * GiB }, { mode: 'ro', files: 5, bytes: 2 * GiB }],
  retention_policies: [{ retention_policy: 'permanent', files: 30, bytes: 12 * GiB }],
  uploads_per_day: [{ date: '2026-11-25', files: 4, bytes: 0 }, { date: '2026-11-26', files: 7, bytes: 0 }],
  latest_uploads: [],
};

describe('DashboardPage', () => {
  let ctl: HttpTestingController;
  beforeEach(() => {
    ctl = setupHttp();
    vi.spyOn(HTMLCanvasElement.prototype, 'getContext').mockReturnValue(null); // jsdom draws no charts
  });
  afterEach(() => ctl.verify());

  /** The three calls of one refresh round, each answered by `answer`. */
  async function round(fixture: { whenStable(): Promise<unknown>; detectChanges(): void },
    answer: (url: string) => [unknown, { status: number; statusText: string }?]) {
    await wait(0);
    for (const url of ['http://a/api/v1/storage-elements', 'http://q/api/v1/stats', 'http://a/api/v1/fleet']) {
      const [body, opts] = answer(url);
      ctl.expectOne(url).flush(body as object, opts);
    }
    await settle(fixture);
  }

  it('reads the registry, the stats and the fleet, and shows every SE and instance online or offline', async () => {
    const fixture = TestBed.createComponent(DashboardPage);
    fixture.detectChanges();
    const ses = [se('rw-1', 'rw', 'online', 50, 100), se('ro-1', 'ro', 'offline', 99, 100)];
    await round(fixture, (url) => [url.endsWith('storage-elements') ? { items: ses, total: 2 } : url.endsWith('stats') ? STATS
      : { items: [instance('admin_module', 'admin-1', 'up'), instance('storage_element', 'se-ro-1', 'stale')], storage_elements: ses }]);
    const el: HTMLElement = fixture.nativeElement;
    const kpi = (label: string) => Array.from(el.querySelectorAll('.kpi')).find((k) => k.textContent?.includes(label))?.textContent ?? '';
    expect(kpi('Storage elements online')).toContain('1 / 2');
    expect(kpi('Service instances up')).toContain('1 / 2');
    expect(kpi('Files')).toContain('30');
    expect(kpi('Capacity used')).toContain('74.5 %');

    const cards = Array.from(el.querySelectorAll('[data-testid=se-capacity]'));
    expect(cards.map((c) => c.querySelector('strong')?.textContent)).toEqual(['rw-1', 'ro-1']);
    expect(cards[0].textContent).toContain('online');
    expect(cards[0].textContent).toContain('25 files');
    expect(cards[0].querySelector('.capacity')?.getAttribute('aria-label')).toBe('Used 50 %');
    expect(cards[1].textContent).toContain('offline');
    expect(cards[1].querySelector('.capacity')?.classList).toContain('full');

    const fleetRows = Array.from(el.querySelectorAll('[data-testid=fleet-table] tr')).slice(1).map((r) => r.textContent ?? '');
    expect(fleetRows).toHaveLength(2);
    expect(fleetRows[0]).toContain('admin_module');
    expect(fleetRows[0]).toContain('up');
    expect(fleetRows[1]).toContain('se-ro-1');
    expect(fleetRows[1]).toContain('stale');
    expect(el.textContent).toContain('10.0 GiB');
    fixture.destroy();
  });

  it('falls back to the fleet view for the SEs and shows a failed figure as an error', async () => {
    const fixture = TestBed.createComponent(DashboardPage);
    fixture.detectChanges();
    const problem = { title: 'Service Unavailable', status: 503, detail: 'catalog is rebuilding', code: 'unavailable' };
    await round(fixture, (url) => url.endsWith('fleet')
      ? [{ items: [], storage_elements: [se('edit-1', 'edit', 'online', 1, 10)] }]
      : [problem, { status: 503, statusText: 'Service Unavailable' }]);
    const el: HTMLElement = fixture.nativeElement;
    expect(el.querySelector('[data-testid=se-capacity] strong')?.textContent).toBe('edit-1');
    const alerts = Array.from(el.querySelectorAll('[role=alert]')).map((a) => a.textContent ?? '');
    expect(alerts.some((a) => a.includes('catalog is rebuilding'))).toBe(true);
    expect(el.textContent).toContain('No service instance has sent a heartbeat.');
    fixture.destroy();
  });
});
