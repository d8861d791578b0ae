import { TestBed } from '@angular/core/testing';

import { AuditPage } from './audit/audit-page';
import { LoginPage } from './auth/login';
import { StoragePage } from './storage/storage-page';
import { UsersPage } from './users/users-page';
import { FileDetails } from './files/file-details';
import { FileRecord } from '../api/types';
import { settle, setupHttp as setup } from '../testing/harness';

describe('UsersPage', () => {
  it('lists users, offers unlock for locked LOCAL users and keeps LDAP users read-only', async () => {
    const ctl = setup();
    const fixture = TestBed.createComponent(UsersPage);
    fixture.detectChanges();
    const list = ctl.expectOne((r) => r.url === 'http://a/api/v1/users');
    expect(list.request.params.get('limit')).toBe('50');
    list.flush({ items: [
      { id: '1', username: 'alice', role: 'USER', status: 'LOCKED', source: 'LOCAL' },
      { id: '2', username: 'oscar', role: 'OPERATOR', status: 'ACTIVE', source: 'LDAP', last_sync_at: '2026-11-26T03:00:00Z' },
    ], next_cursor: null, total: 2 });
    ctl.expectOne('http://a/api/v1/ldap/status').flush({ enabled: true, connection: { state: 'down', error: 'connection refused' }, last_sync: null });
    await settle(fixture);
    const el: HTMLElement = fixture.nativeElement;
    const rows = el.querySelectorAll('[data-testid=users-table] tr.mat-mdc-row');
    expect(rows.length).toBe(2);
    expect(rows[0].textContent).toContain('alice');
    expect(rows[0].textContent).toContain('Unlock');
    expect(rows[1].textContent).toContain('read-only');
    expect(el.textContent).toContain('unreachable');
    expect(el.textContent).toContain('connection refused');
    expect(el.textContent).toContain('2 users');

    (Array.from(rows[0].querySelectorAll('button')).find((b) => b.textContent?.includes('Unlock')) as HTMLButtonElement).click();
    const unlock = ctl.expectOne('http://a/api/v1/users/1/unlock');
    expect(unlock.request.method).toBe('POST');
    unlock.flush({});
    await fixture.whenStable();
    ctl.expectOne((r) => r.url === 'http://a/api/v1/users').flush({ items: [], next_cursor: null });
  });

  it('says when a directory sync was aborted and changed nothing', async () => {
    const ctl = setup();
    const fixture = TestBed.createComponent(UsersPage);
    fixture.detectChanges();
    ctl.expectOne((r) => r.url === 'http://a/api/v1/users').flush({ items: [], next_cursor: null, total: 0 });
    const reason = 'the users base ou=users,dc=artstore,dc=local does not exist';
    ctl.expectOne('http://a/api/v1/ldap/status').flush({
      enabled: true, connection: { state: 'up' }, sync_interval_seconds: 900, sync_max_deactivation_ratio: 0.5, urls: [],
      last_sync: { at: '2026-12-06T10:00:00Z', outcome: 'failure', created: 0, updated: 0, deactivated: 0, errors: [reason], aborted: reason },
    });
    await settle(fixture);
    const el: HTMLElement = fixture.nativeElement;
    expect(el.querySelector('[data-testid=ldap-aborted]')?.textContent).toContain(reason);

    (Array.from(el.querySelectorAll('button')).find((b) => b.textContent?.includes('Sync now')) as HTMLButtonElement).click();
    const sync = ctl.expectOne('http://a/api/v1/ldap/sync');
    expect(sync.request.method).toBe('POST');
    sync.flush({ created: 0, updated: 0, deactivated: 0, unchanged: 0, errors: [reason], aborted: reason });
    await settle(fixture);
    // The page reloads its list and the directory status after a sync.
    ctl.match((r) => r.url === 'http://a/api/v1/users').forEach((r) => r.flush({ items: [], next_cursor: null }));
    ctl.match('http://a/api/v1/ldap/status').forEach((r) => r.flush({ enabled: true, connection: { state: 'up' } }));
    await settle(fixture);
    const result = el.querySelector('[data-testid=sync-result]');
    expect(result?.textContent).toContain('Sync aborted, nothing was changed');
    expect(result?.textContent).not.toContain('Sync finished');
    expect(result?.classList).toContain('error');
  });

  it('shows a problem+json failure as a clear message', async () => {
    const ctl = setup();
    const fixture = TestBed.createComponent(UsersPage);
    fixture.detectChanges();
    ctl.expectOne((r) => r.url === 'http://a/api/v1/users').flush(
      { title: 'Forbidden', status: 403, detail: 'identity:admin is required', code: 'forbidden', request_id: 'r-9' },
      { status: 403, statusText: 'Forbidden' });
    ctl.expectOne('http://a/api/v1/ldap/status').flush({ enabled: false, connection: { state: 'disabled' } });
    await settle(fixture);
    const alert = (fixture.nativeElement as HTMLElement).querySelector('[role=alert]');
    expect(alert?.textContent).toContain('identity:admin is required');
    expect(alert?.textContent).toContain('forbidden');
    expect(alert?.textContent).toContain('r-9');
  });
});

describe('LoginPage', () => {
  it('shows the lockout message from error_description', async () => {
    const ctl = setup();
    const fixture = TestBed.createComponent(LoginPage);
    fixture.detectChanges();
    const page = fixture.componentInstance;
    page.form.setValue({ username: 'alice', password: 'wrong' });
    const done = page.submit();
    const req = ctl.expectOne('http://a/api/v1/auth/token');
    expect(req.request.body).toBe('grant_type=password&username=alice&password=wrong');
    req.flush({ error: 'invalid_grant', error_description: 'Account locked until 04:05 UTC' }, { status: 400, statusText: 'Bad Request' });
    await done;
    await settle(fixture);
    const text = (fixture.nativeElement as HTMLElement).textContent ?? '';
    expect(text).toContain('Sign-in failed');
    expect(text).toContain('Account locked until 04:05 UTC');
    expect(page.form.controls.password.value).toBe('');
  });
});

describe('StoragePage', () => {
  it('renders each SE with capacity and the mode transitions it allows', async () => {
    const ctl = setup();
    const fixture = TestBed.createComponent(StoragePage);
    fixture.detectChanges();
    ctl.expectOne('http://a/api/v1/storage-elements').flush({ items: [
      { id: 'se1', name: 'rw-1', url: 'http://x', mode: 'rw', status: 'online', priority: 1, capacity: { total: 1024, used: 512, free: 512 } },
      { id: 'se2', name: 'ro-1', url: 'http://y', mode: 'ro', status: 'offline', priority: 2, capacity: { total: 100, used: 99, free: 1 } },
      { id: 'se3', name: 'edit-1', url: 'http://z', mode: 'edit', status: 'online', priority: 3, capacity: { total: 0, used: 0, free: 0 } },
    ], next_cursor: null });
    await settle(fixture);
    const cards = (fixture.nativeElement as HTMLElement).querySelectorAll('.se-card');
    expect(cards.length).toBe(3);
    const buttons = (i: number) => Array.from(cards[i].querySelectorAll('.card-actions button')).map((b) => b.textContent?.trim());
    expect(buttons(0)).toContain('sync_alt Switch to ro');
    expect(buttons(1)).toEqual(expect.arrayContaining(['sync_alt Switch to ar', 'sync_alt Switch to rw']));
    expect(buttons(2).some((t) => t?.includes('Switch'))).toBe(false);
    expect(cards[0].textContent).toContain('512 B used of 1.0 KiB');
    expect(cards[1].querySelector('.capacity')?.classList).toContain('full');
  });
});

describe('AuditPage', () => {
  it('pages with the cursor and shows a broken chain', async () => {
    const ctl = setup();
    const fixture = TestBed.createComponent(AuditPage);
    fixture.detectChanges();
    ctl.expectOne((r) => r.url === 'http://a/api/v1/audit-events').flush({ items: [
      { id: 'e1', occurred_at: '2026-11-26T03:00:00Z', actor_username: 'admin', action: 'user.create', target: 'bob', outcome: 'success' },
    ], next_cursor: 'n1' });
    await settle(fixture);
    fixture.componentInstance.nextPage();
    const page2 = ctl.expectOne((r) => r.url === 'http://a/api/v1/audit-events');
    expect(page2.request.params.get('cursor')).toBe('n1');
    page2.flush({ items: [], next_cursor: null });

    fixture.componentInstance.filters.actor = 'admin';
    fixture.componentInstance.filters.since = '2026-11-01';
    fixture.componentInstance.search();
    const filtered = ctl.expectOne((r) => r.url === 'http://a/api/v1/audit-events');
    expect(filtered.request.params.get('actor')).toBe('admin');
    expect(filtered.request.params.get('since')).toBe('2026-11-01T00:00:00Z');
    expect(filtered.request.params.has('cursor')).toBe(false);
    filtered.flush({ items: [], next_cursor: null });

    fixture.componentInstance.runVerify();
    ctl.expectOne('http://a/api/v1/audit-events/verify').flush({ ok: false, checked: 41, first_bad: 'e42' });
    await settle(fixture);
    const result = (fixture.nativeElement as HTMLElement).querySelector('[data-testid=verify-result]');
    expect(result?.textContent).toContain('Chain broken at event e42 after 41 events checked');
  });
});

describe('AuditPage outcome filter', () => {
  it('offers exactly the outcomes the services record and filters by the chosen one', async () => {
    const ctl = setup();
    const fixture = TestBed.createComponent(AuditPage);
    fixture.detectChanges();
    ctl.expectOne((r) => r.url === 'http://a/api/v1/audit-events').flush({ items: [], next_cursor: null });
    await settle(fixture);
    const el: HTMLElement = fixture.nativeElement;
    el.querySelector<HTMLElement>('mat-select[name=outcome] .mat-mdc-select-trigger')!.click();
    await settle(fixture);
    const options = Array.from(document.querySelectorAll<HTMLElement>('mat-option'));
    expect(options.map((o) => o.textContent?.trim())).toEqual(['any', 'success', 'failure', 'ignored']);
    options[3].click();
    await settle(fixture);
    const filtered = ctl.expectOne((r) => r.url === 'http://a/api/v1/audit-events');
    expect(filtered.request.params.get('outcome')).toBe('ignored');
    filtered.flush({ items: [
      { id: 'e1', occurred_at: '2026-11-26T03:00:00Z', action: 'password.reset_requested', target: 'nobody', outcome: 'ignored' },
    ], next_cursor: null });
    await settle(fixture);
    expect(el.querySelector('[data-testid=audit-table]')?.textContent).toContain('password.reset_requested');
    ctl.verify();
  });
});

describe('FileDetails', () => {
  const file: FileRecord = {
    file_id: 'f1', original_filename: 'report.pdf', size: 2048, content_type: 'application/pdf', sha256: 'ab'.repeat(32),
    owner: { id: 'u1', username: 'alice', kind: 'user' }, description: 'Annual report', tags: ['finance'], metadata: { project: 'alpha' },
    retention_policy: 'temporary', expires_at: '2026-12-26T00:00:00Z', retain_until: null, legal_hold: false, revision: 3,
    created_at: '2026-11-26T00:00:00Z', updated_at: '2026-11-26T01:00:00Z', storage_element_id: 'se-edit',
    copies: [{ storage_element_id: 'se-edit', mode: 'edit', state: 'committed' }, { storage_element_id: 'se-rw', mode: 'rw', state: 'pending' }],
    status: 'available',
  };

  it('shows every record field and copy, and emits actions', async () => {
    setup();
    const fixture = TestBed.createComponent(FileDetails);
    fixture.componentRef.setInput('file', file);
    fixture.componentRef.setInput('canTransfer', false);
    const actions: string[] = [];
    fixture.componentInstance.action.subscribe((a) => actions.push(a));
    await settle(fixture);
    const text = (fixture.nativeElement as HTMLElement).textContent ?? '';
    for (const expected of ['report.pdf', 'f1', '2.0 KiB', '2048 bytes', 'application/pdf', 'ab'.repeat(32), 'alice', 'Annual report',
      'finance', '"project": "alpha"', 'temporary', 'se-edit', 'se-rw', 'pending', 'committed']) {
      expect(text).toContain(expected);
    }
    expect(text).toContain('Make permanent');
    expect(text).not.toContain('Transfer');
    (fixture.nativeElement as HTMLElement).querySelector<HTMLButtonElement>('[data-testid=download]')!.click();
    expect(actions).toEqual(['download']);
  });
});

describe('ServiceAccountDialog', () => {
  it('returns the name and the chosen scopes', async () => {
    const { ServiceAccountDialog } = await import('./service-accounts/sa-dialogs');
    const { MAT_DIALOG_DATA } = await import('@angular/material/dialog');
    TestBed.configureTestingModule({ providers: [{ provide: MAT_DIALOG_DATA, useValue: null }] });
    const fixture = TestBed.createComponent(ServiceAccountDialog);
    fixture.componentInstance.name = ' backup ';
    fixture.componentInstance.toggle('files:read');
    fixture.componentInstance.toggle('feed:read');
    fixture.componentInstance.toggle('feed:read');
    expect(fixture.componentInstance.result()).toEqual({ name: 'backup', scopes: ['files:read'] });
  });
});
