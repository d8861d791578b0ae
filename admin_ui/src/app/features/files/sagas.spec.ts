import { provideHttpClient } from '@angular/common/http';
import { HttpTestingController, provideHttpClientTesting } from '@angular/common/http/testing';
import { TestBed } from '@angular/core/testing';

import { Saga } from '../../api/types';
import { APP_CONFIG } from '../../core/config';
import { SagaTracker, sagaProgress } from './sagas';

describe('sagaProgress', () => {
  it('counts done steps and names the one at work', () => {
    const saga: Saga = { id: 's', kind: 'finalize', state: 'running', file_id: 'f1', attempts: 1,
      created_at: '2026-11-26T00:00:00Z', updated_at: '2026-11-26T00:00:01Z', steps: [
      { name: 'copy', state: 'done' }, { name: 'verify', state: 'done' }, { name: 'switch_retention', state: 'running' },
    ] };
    expect(sagaProgress(saga)).toEqual({ done: 2, current: 'switch_retention' });
    expect(sagaProgress(null)).toEqual({ done: 0, current: null });
  });
});

describe('SagaTracker', () => {
  it('polls a saga until it ends and reports the end once', async () => {
    vi.useFakeTimers();
    TestBed.configureTestingModule({
      providers: [provideHttpClient(), provideHttpClientTesting(),
        { provide: APP_CONFIG, useValue: { adminUrl: 'http://a', ingesterUrl: 'http://i', queryUrl: 'http://q' } }],
    });
    const tracker = TestBed.inject(SagaTracker);
    const ctl = TestBed.inject(HttpTestingController);
    const ended: string[] = [];
    tracker.track('s1', 'Delete a.txt', (s) => ended.push(s.state));
    await vi.advanceTimersByTimeAsync(0);
    // Not yet readable: retried, not reported.
    ctl.expectOne('http://i/api/v1/sagas/s1').flush({ title: 'Not Found', code: 'saga_not_found' }, { status: 404, statusText: 'Not Found' });
    expect(tracker.sagas()[0].error).toBeNull();
    await vi.advanceTimersByTimeAsync(1000);
    ctl.expectOne('http://i/api/v1/sagas/s1').flush({ id: 's1', kind: 'delete', state: 'running', steps: [] });
    expect(tracker.sagas()[0].saga?.state).toBe('running');
    await vi.advanceTimersByTimeAsync(1000);
    ctl.expectOne('http://i/api/v1/sagas/s1').flush({ id: 's1', kind: 'delete', state: 'completed', steps: [{ name: 'delete', state: 'done' }] });
    await vi.advanceTimersByTimeAsync(3000);
    ctl.expectNone('http://i/api/v1/sagas/s1');
    expect(ended).toEqual(['completed']);
    expect(tracker.sagas()[0].saga?.state).toBe('completed');
    tracker.dismiss('s1');
    expect(tracker.sagas()).toEqual([]);
    vi.useRealTimers();
  });
});
