import { provideHttpClient } from '@angular/common/http';
import { HttpTestingController, provideHttpClientTesting } from '@angular/common/http/testing';
import { TestBed } from '@angular/core/testing';
import { MAT_DIALOG_DATA } from '@angular/material/dialog';

import { APP_CONFIG } from '../../core/config';
import { transitionsFrom } from './modes';
import { JobDialog, jobPercent, progressText } from './storage-dialogs';

describe('mode transitions', () => {
  it('follows rw -> ro -> ar and ro -> rw with confirmation; edit never changes', () => {
    expect(transitionsFrom('rw').map((t) => [t.to, t.needsConfirm])).toEqual([['ro', false]]);
    expect(transitionsFrom('ro').map((t) => [t.to, t.needsConfirm])).toEqual([['ar', false], ['rw', true]]);
    expect(transitionsFrom('ar')).toEqual([]);
    expect(transitionsFrom('edit')).toEqual([]);
  });
});

describe('maintenance jobs', () => {
  it('reads progress as a fraction, a percentage, done/total or plain counters', () => {
    expect(jobPercent(0.25)).toBe(25);
    expect(jobPercent(40)).toBe(40);
    expect(jobPercent({ done: 3, total: 12 })).toBe(25);
    expect(jobPercent({ sidecars: 1 })).toBeNull();
    expect(jobPercent(null)).toBeNull();
    expect(progressText({ sidecars: 120, files_checked: 7 })).toBe('sidecars 120, files checked 7');
  });

  it('polls the job through the admin module until done and shows its report', async () => {
    vi.useFakeTimers();
    TestBed.configureTestingModule({
      providers: [provideHttpClient(), provideHttpClientTesting(),
        { provide: APP_CONFIG, useValue: { adminUrl: 'http://a', ingesterUrl: 'http://i', queryUrl: 'http://q' } },
        { provide: MAT_DIALOG_DATA, useValue: { se: { id: 'se-1', name: 'edit-1' }, kind: 'consistency', jobId: 'j1' } }],
    });
    const ctl = TestBed.inject(HttpTestingController);
    const fixture = TestBed.createComponent(JobDialog);
    fixture.detectChanges();
    await vi.advanceTimersByTimeAsync(0);
    const url = 'http://a/api/v1/storage-elements/se-1/maintenance/jobs/j1';
    ctl.expectOne(url).flush({ state: 'running', progress: { sidecars: 10 } });
    fixture.detectChanges();
    expect((fixture.nativeElement as HTMLElement).textContent).toContain('sidecars 10');
    await vi.advanceTimersByTimeAsync(1500);
    ctl.expectOne(url).flush({ state: 'done', progress: { sidecars: 12 }, report: { missing_in_index: ['f-9'], differing: [] } });
    await vi.advanceTimersByTimeAsync(3000);
    ctl.expectNone(url);
    fixture.detectChanges();
    const text = (fixture.nativeElement as HTMLElement).textContent ?? '';
    expect(text).toContain('done');
    expect(text).toContain('"missing_in_index"');
    expect(text).toContain('f-9');
    fixture.destroy();
    vi.useRealTimers();
  });
});
