import { provideHttpClient } from '@angular/common/http';
import { HttpTestingController, provideHttpClientTesting } from '@angular/common/http/testing';
import { TestBed } from '@angular/core/testing';
import { provideRouter } from '@angular/router';

import { FileRecord } from '../../api/types';
import { APP_CONFIG } from '../../core/config';
import { FilesPage } from './files-page';
import { UploadPanel } from './upload-panel';

function record(id: string, name: string): FileRecord {
  return {
    file_id: id, original_filename: name, size: 1024, content_type: 'text/plain', sha256: '0'.repeat(64),
    owner: { id: 'u', username: 'ann', kind: 'user' }, description: `about ${name}`, tags: [], metadata: {},
    retention_policy: 'temporary', expires_at: null, retain_until: null, legal_hold: false, revision: 1,
    created_at: '2026-11-26T00:00:00Z', updated_at: '2026-11-26T00:00:00Z', storage_element_id: 'se-1',
    copies: [{ storage_element_id: 'se-1', mode: 'edit', state: 'committed' }], status: 'available',
  };
}

describe('FilesPage', () => {
  let ctl: HttpTestingController;

  beforeEach(() => {
    TestBed.configureTestingModule({
      providers: [provideRouter([]), provideHttpClient(), provideHttpClientTesting(),
        { provide: APP_CONFIG, useValue: { adminUrl: 'http://a', ingesterUrl: 'http://i', queryUrl: 'http://q' } }],
    });
    ctl = TestBed.inject(HttpTestingController);
  });

  const search = () => ctl.expectOne((r) => r.url === 'http://q/api/v1/search');

  it('searches, lists results with facets, pages by cursor and narrows by a facet', async () => {
    const fixture = TestBed.createComponent(FilesPage);
    fixture.detectChanges();
    const first = search();
    expect(first.request.params.get('facets')).toBe('true');
    expect(first.request.params.get('sort')).toBe('created_at');
    first.flush({ items: [record('f1', 'a.txt'), record('f2', 'b.txt')], next_cursor: 'c1', total: 3, total_is_estimate: false,
      facets: { tag: [{ value: 'finance', count: 2 }] } });
    fixture.detectChanges();
    await fixture.whenStable();
    const el: HTMLElement = fixture.nativeElement;
    expect(el.querySelectorAll('[data-testid=results] tr.mat-mdc-row').length).toBe(2);
    expect(el.textContent).toContain('3 files');
    expect(el.querySelector('[data-testid=facets]')?.textContent).toContain('finance');

    const page = fixture.componentInstance;
    page.nextPage();
    const second = search();
    expect(second.request.params.get('cursor')).toBe('c1');
    second.flush({ items: [record('f3', 'c.txt')], next_cursor: null, total: 3, total_is_estimate: false });
    expect(page.hasPrevious()).toBe(true);
    page.previousPage();
    expect(search().request.params.has('cursor')).toBe(false);

    page.form.q = 'annual report';
    page.pickFacet('tag', 'finance');
    const narrowed = search();
    expect(narrowed.request.params.get('q')).toBe('annual report');
    expect(narrowed.request.params.getAll('tag')).toEqual(['finance']);
    expect(narrowed.request.params.get('sort')).toBe('relevance');
    expect(narrowed.request.params.has('cursor')).toBe(false);
    narrowed.flush({ items: [], next_cursor: null, total: 0, total_is_estimate: false });
    fixture.detectChanges();
    expect(el.textContent).toContain('No file matches');
  });

  it('opens a file with its latest record when a row is chosen', async () => {
    const fixture = TestBed.createComponent(FilesPage);
    fixture.detectChanges();
    search().flush({ items: [record('f1', 'a.txt')], next_cursor: null, total: 1, total_is_estimate: false });
    fixture.detectChanges();
    await fixture.whenStable();
    (fixture.nativeElement as HTMLElement).querySelector<HTMLElement>('[data-testid=results] tr.mat-mdc-row')!.click();
    ctl.expectOne('http://q/api/v1/files/f1').flush({ ...record('f1', 'a.txt'), revision: 2, description: 'fresh' });
    fixture.detectChanges();
    const details = (fixture.nativeElement as HTMLElement).querySelector('[data-testid=details]');
    expect(details?.textContent).toContain('fresh');
  });
});

describe('UploadPanel', () => {
  it('uploads every dropped file with the chosen options', () => {
    TestBed.configureTestingModule({
      providers: [provideHttpClient(), provideHttpClientTesting(),
        { provide: APP_CONFIG, useValue: { adminUrl: 'http://a', ingesterUrl: 'http://i', queryUrl: 'http://q' } }],
    });
    const ctl = TestBed.inject(HttpTestingController);
    const fixture = TestBed.createComponent(UploadPanel);
    fixture.detectChanges();
    const panel = fixture.componentInstance;
    panel.description = 'Scanned contracts';
    panel.tags = 'legal, 2026';
    panel.metadata = '{"dept": "legal"}';
    const files = [new File(['one'], 'one.txt'), new File(['two'], 'two.txt')];
    const drop = new Event('drop') as DragEvent;
    Object.defineProperty(drop, 'dataTransfer', { value: { files } });
    panel.onDrop(drop);
    const posts = ctl.match('http://i/api/v1/files');
    expect(posts.length).toBe(2);
    const form = posts[0].request.body as FormData;
    expect(form.get('description')).toBe('Scanned contracts');
    expect(form.getAll('tags')).toEqual(['legal', '2026']);
    expect(form.get('metadata')).toBe('{"dept":"legal"}');
    expect(panel.tasks().map((t) => t.name).sort()).toEqual(['one.txt', 'two.txt']);
  });

  it('refuses metadata that is not a JSON object', () => {
    TestBed.configureTestingModule({
      providers: [provideHttpClient(), provideHttpClientTesting(),
        { provide: APP_CONFIG, useValue: { adminUrl: 'http://a', ingesterUrl: 'http://i', queryUrl: 'http://q' } }],
    });
    const ctl = TestBed.inject(HttpTestingController);
    const panel = TestBed.createComponent(UploadPanel).componentInstance;
    panel.metadata = '[1, 2]';
    panel.add([new File(['x'], 'x.txt')]);
    ctl.expectNone('http://i/api/v1/files');
    expect(panel.optionsError()).toContain('JSON object');
  });
});
