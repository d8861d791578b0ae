import { HttpTestingController } from '@angular/common/http/testing';
import { TestBed } from '@angular/core/testing';

import { FileRecord } from '../../api/types';
import { clickDialogButton, dialog, settle, setupHttp, signIn, wait } from '../../testing/harness';
import { FilesPage } from './files-page';

const record = (id: string, name: string, se = 'se-1'): FileRecord => ({
  file_id: id, original_filename: name, size: 1024, content_type: 'text/plain', sha256: '0'.repeat(64),
  owner: { id: 'u', username: 'ann', kind: 'user' }, description: `about ${name}`, tags: [], metadata: {},
  retention_policy: 'permanent', expires_at: null, retain_until: null, legal_hold: false, revision: 1,
  created_at: '2026-11-26T00:00:00Z', updated_at: '2026-11-26T00:00:00Z', storage_element_id: se,
  copies: [{ storage_element_id: se, mode: 'rw', state: 'committed' }], status: 'available',
});
const storageElement = (id: string, mode: string) => ({
  id, name: id, url: `http://${id}`, mode, status: 'online', priority: 1, file_count: 0, registered_at: '2026-11-01T00:00:00Z',
  updated_at: '2026-11-01T00:00:00Z', capacity: { total: 100, used: 1, free: 99, reserved: 0 },
});

describe('FilesPage actions', () => {
  let ctl: HttpTestingController;
  beforeEach(() => { ctl = setupHttp(); });
  afterEach(() => ctl.verify());

  const search = () => ctl.expectOne((r) => r.url === 'http://q/api/v1/search');

  /** The files page with one result, opened in the details panel. */
  async function opened(file: FileRecord, storageElements?: unknown[]) {
    const fixture = TestBed.createComponent(FilesPage);
    fixture.detectChanges();
    if (storageElements) ctl.expectOne('http://a/api/v1/storage-elements').flush({ items: storageElements, total: storageElements.length });
    search().flush({ items: [{ ...file, score: null }], next_cursor: null, total: 1, total_is_estimate: false });
    await settle(fixture);
    (fixture.nativeElement as HTMLElement).querySelector<HTMLElement>('[data-testid=results] tr.mat-mdc-row')!.click();
    ctl.expectOne(`http://q/api/v1/files/${file.file_id}`).flush(file);
    await settle(fixture);
    return fixture;
  }

  it('suggests file names and tags for a typed prefix of two characters or more', async () => {
    const fixture = TestBed.createComponent(FilesPage);
    fixture.detectChanges();
    search().flush({ items: [], next_cursor: null, total: 0, total_is_estimate: false });
    const page = fixture.componentInstance;
    page.onTyping('a');
    await wait(300);
    ctl.expectNone((r) => r.url === 'http://q/api/v1/search/suggest');
    page.onTyping('an');
    page.onTyping('ann');
    await wait(300);
    const suggest = ctl.expectOne((r) => r.url === 'http://q/api/v1/search/suggest');
    expect(suggest.request.params.get('prefix')).toBe('ann');
    suggest.flush({ items: [{ value: 'annual-report.pdf', kind: 'filename' }, { value: 'annual', kind: 'tag' }] });
    expect(page.suggestions()).toEqual(['annual-report.pdf', 'annual']);
  });

  it('downloads through a signed link, which the browser fetches itself', async () => {
    const fixture = await opened(record('f1', 'report.pdf'));
    const clicked: HTMLAnchorElement[] = [];
    const click = vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) { clicked.push(this); });
    (fixture.nativeElement as HTMLElement).querySelector<HTMLButtonElement>('[data-testid=download]')!.click();
    const link = ctl.expectOne('http://q/api/v1/files/f1/download-link');
    expect(link.request.method).toBe('POST');
    link.flush({ url: 'http://q/api/v1/files/f1/download?expires=1764200000&sig=abc', expires_at: '2026-11-26T23:00:00Z' });
    await settle(fixture);
    await wait(0);
    expect(clicked).toHaveLength(1);
    expect(clicked[0].href).toBe('http://q/api/v1/files/f1/download?expires=1764200000&sig=abc');
    expect(clicked[0].download).toBe('report.pdf');
    expect(document.body.contains(clicked[0])).toBe(false);
    ctl.expectNone('http://q/api/v1/files/f1/download?expires=1764200000&sig=abc'); // not through HttpClient
    click.mockRestore();
  });

  it('transfers to another SE chosen in the dialog and follows the saga', async () => {
    await signIn(ctl, 'OPERATOR');
    const fixture = await opened(record('f1', 'a.txt', 'se-1'), [storageElement('se-1', 'rw'), storageElement('se-2', 'rw')]);
    const el: HTMLElement = fixture.nativeElement;
    Array.from(el.querySelectorAll<HTMLButtonElement>('[data-testid=details] button')).find((b) => b.textContent?.includes('Transfer'))!.click();
    await settle(fixture);
    expect(dialog()?.textContent).toContain('"a.txt" is copied to the target, verified, then removed from se-1.');
    const transferButton = () => Array.from(dialog()!.querySelectorAll<HTMLButtonElement>('button')).find((b) => b.textContent?.trim() === 'Transfer')!;
    expect(transferButton().disabled).toBe(true);
    dialog()!.querySelector<HTMLElement>('mat-select .mat-mdc-select-trigger')!.click();
    await settle(fixture);
    const options = Array.from(document.querySelectorAll<HTMLElement>('mat-option'));
    expect(options.map((o) => o.textContent?.trim())).toEqual(['se-2 (rw)']); // never the SE it is on
    options[0].click();
    await settle(fixture);
    clickDialogButton('Transfer');
    await settle(fixture);
    const post = ctl.expectOne('http://i/api/v1/files/f1/transfer');
    expect(post.request.body).toEqual({ target_storage_element_id: 'se-2' });
    post.flush({ saga_id: 's1' }, { status: 202, statusText: 'Accepted' });
    await wait(50, fixture);
    expect(el.querySelector('[data-testid=sagas]')?.textContent).toContain('Transfer a.txt → se-2');
    ctl.expectOne('http://i/api/v1/sagas/s1').flush({
      id: 's1', kind: 'transfer', state: 'completed', file_id: 'f1', attempts: 1, created_at: '2026-11-26T00:00:00Z',
      updated_at: '2026-11-26T00:00:02Z', steps: [{ name: 'copy', state: 'done' }, { name: 'verify', state: 'done' }],
    });
    await wait(50, fixture);
    expect(el.querySelector('[data-testid=sagas] .badge')?.textContent).toBe('completed');
    // The record is re-read until the catalog shows the move.
    ctl.expectOne('http://q/api/v1/files/f1').flush({ ...record('f1', 'a.txt', 'se-2'), updated_at: '2026-11-26T00:00:03Z' });
    await settle(fixture);
    expect(el.querySelector('[data-testid=details]')?.textContent).toContain('se-2');
    search().flush({ items: [], next_cursor: null, total: 0, total_is_estimate: false });
    fixture.destroy();
  });
});
