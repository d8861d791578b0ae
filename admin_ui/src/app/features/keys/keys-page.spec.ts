import { HttpTestingController } from '@angular/common/http/testing';
import { TestBed } from '@angular/core/testing';

import { clickDialogButton, dialog, settle, setupHttp } from '../../testing/harness';
import { KeysPage } from './keys-page';

const key = (kid: string, state: string, verify_until: string | null = null) => ({
  kid, algorithm: 'RS256', created_at: '2026-11-20T08:30:00Z', state, retired_at: null, verify_until,
});

describe('KeysPage', () => {
  let ctl: HttpTestingController;
  beforeEach(() => { ctl = setupHttp(); });
  afterEach(() => ctl.verify());

  const rows = (el: HTMLElement) => Array.from(el.querySelectorAll('tr.mat-mdc-row')).map((r) => r.textContent ?? '');

  it('lists the keys with their state, and rotates after a confirmation', async () => {
    const fixture = TestBed.createComponent(KeysPage);
    fixture.detectChanges();
    ctl.expectOne('http://a/api/v1/keys').flush({ items: [key('k-2', 'active'), key('k-1', 'retiring', '2026-11-27T09:00:00Z')] });
    await settle(fixture);
    const el: HTMLElement = fixture.nativeElement;
    expect(rows(el)).toHaveLength(2);
    expect(rows(el)[0]).toContain('k-2');
    expect(rows(el)[0]).toContain('RS256');
    expect(rows(el)[0]).toContain('2026-11-20');
    expect(rows(el)[0]).toContain('active');
    expect(rows(el)[1]).toContain('retiring');
    expect(rows(el)[1]).toContain('2026-11-27');

    Array.from(el.querySelectorAll('button')).find((b) => b.textContent?.includes('Rotate key'))!.click();
    await settle(fixture);
    expect(dialog()?.textContent).toContain('Rotate signing key');
    ctl.expectNone('http://a/api/v1/keys/rotate'); // nothing happens before the confirmation
    clickDialogButton('Rotate');
    await settle(fixture);
    const rotate = ctl.expectOne('http://a/api/v1/keys/rotate');
    expect(rotate.request.method).toBe('POST');
    rotate.flush({ kid: 'k-3' });
    await settle(fixture);
    ctl.expectOne('http://a/api/v1/keys').flush({ items: [key('k-3', 'active'), key('k-2', 'retiring', '2026-11-27T10:00:00Z')] });
    await settle(fixture);
    expect(rows(el)[0]).toContain('k-3');
    expect(rows(el)[1]).toMatch(/k-2.*retiring/);
  });

  it('does not rotate when the confirmation is cancelled', async () => {
    const fixture = TestBed.createComponent(KeysPage);
    fixture.detectChanges();
    ctl.expectOne('http://a/api/v1/keys').flush({ items: [key('k-2', 'active')] });
    await settle(fixture);
    await Promise.all([fixture.componentInstance.rotate(), (async () => {
      await settle(fixture);
      clickDialogButton('Cancel');
    })()]);
    ctl.expectNone('http://a/api/v1/keys/rotate');
  });
});
