import { HttpTestingController } from '@angular/common/http/testing';
import { TestBed } from '@angular/core/testing';

import { clickDialogButton, dialog, settle, setupHttp } from '../../testing/harness';
import { ServiceAccountsPage } from './service-accounts-page';

const account = (id: string, name: string, status = 'ACTIVE') => ({
  id, client_id: `sa_${id}`, name, scopes: ['files:read'], status, fleet: false, last_used_at: null,
  secret_expires_at: null, secret_rotated_at: null, created_at: '2026-11-01T00:00:00Z', updated_at: '2026-11-01T00:00:00Z',
});

describe('ServiceAccountsPage', () => {
  let ctl: HttpTestingController;
  beforeEach(() => { ctl = setupHttp(); });
  afterEach(() => ctl.verify());

  const list = () => ctl.expectOne('http://a/api/v1/service-accounts');

  it('creates an account and shows its secret once, in the dialog only', async () => {
    const fixture = TestBed.createComponent(ServiceAccountsPage);
    fixture.detectChanges();
    list().flush({ items: [], next_cursor: null, total: 0 });
    await settle(fixture);
    const el: HTMLElement = fixture.nativeElement;
    expect(el.textContent).toContain('No service account.');

    const created = fixture.componentInstance.create();
    await settle(fixture);
    const name = dialog()!.querySelector<HTMLInputElement>('[data-testid=sa-name]')!;
    name.value = 'backup';
    name.dispatchEvent(new Event('input'));
    Array.from(dialog()!.querySelectorAll('mat-checkbox')).find((c) => c.textContent?.trim() === 'files:read')!
      .querySelector<HTMLInputElement>('input')!.click();
    await settle(fixture);
    clickDialogButton('Create');
    await settle(fixture);
    const post = ctl.expectOne('http://a/api/v1/service-accounts');
    expect(post.request.method).toBe('POST');
    expect(post.request.body).toEqual({ name: 'backup', scopes: ['files:read'] });
    post.flush({ ...account('1', 'backup'), client_secret: 's3cr3t-shown-once' }, { status: 201, statusText: 'Created' });
    await created;
    await settle(fixture);
    expect(dialog()?.querySelector('[data-testid=client-secret]')?.textContent).toBe('s3cr3t-shown-once');
    expect(dialog()?.textContent).toContain('sa_1');
    list().flush({ items: [account('1', 'backup')], next_cursor: null, total: 1 });
    await settle(fixture);
    expect(el.querySelector('tr.mat-mdc-row')?.textContent).toContain('backup');
    expect(el.textContent).not.toContain('s3cr3t-shown-once');

    clickDialogButton('I have stored it');
    await settle(fixture);
    await fixture.whenStable();
    expect(document.body.textContent).not.toContain('s3cr3t-shown-once');
  });

  it('rotates a secret after a confirmation and shows the new one', async () => {
    const fixture = TestBed.createComponent(ServiceAccountsPage);
    fixture.detectChanges();
    list().flush({ items: [account('7', 'exporter')], next_cursor: null, total: 1 });
    await settle(fixture);
    const rotated = fixture.componentInstance.rotate(fixture.componentInstance.items()[0]);
    await settle(fixture);
    expect(dialog()?.textContent).toContain('Issue a new secret for exporter?');
    clickDialogButton('Rotate');
    await settle(fixture);
    const post = ctl.expectOne('http://a/api/v1/service-accounts/7/rotate-secret');
    expect(post.request.method).toBe('POST');
    post.flush({ ...account('7', 'exporter'), client_secret: 'new-secret-7', secret_rotated_at: '2026-11-26T00:00:00Z' });
    await rotated;
    await settle(fixture);
    expect(dialog()?.textContent).toContain('Client secret for exporter');
    expect(dialog()?.querySelector('[data-testid=client-secret]')?.textContent).toBe('new-secret-7');
    list().flush({ items: [account('7', 'exporter')], next_cursor: null, total: 1 });
  });
});
