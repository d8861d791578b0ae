import { Injectable, inject, signal } from '@angular/core';
import { retry } from 'rxjs';

import { IngesterApi } from '../../api/files.api';
import { errorLine } from '../../api/problem';
import { Saga, SagaState } from '../../api/types';
import { pollUntil } from '../../shared/poll';

export const TERMINAL: string[] = ['completed', 'failed', 'compensated'] satisfies SagaState[];

export interface TrackedSaga {
  id: string;
  label: string;
  saga: Saga | null;
  error: string | null;
}

/** Steps done so far and the step at work (the ingester lists steps as they start: `{name, state}`). */
export function sagaProgress(saga: Saga | null): { done: number; current: string | null } {
  const steps = saga?.steps ?? [];
  const done = steps.filter((s) => ['done', 'completed', 'ok'].includes(String(s['state']))).length;
  const running = steps.find((s) => s['state'] === 'running' || s['state'] === 'failed');
  return { done, current: running ? String(running['name']) : null };
}

/** Sagas started from this tab, polled every second until they end. */
@Injectable({ providedIn: 'root' })
export class SagaTracker {
  private readonly api = inject(IngesterApi);
  readonly sagas = signal<TrackedSaga[]>([]);

  track(id: string, label: string, onEnd?: (saga: Saga) => void): void {
    this.sagas.update((list) => [{ id, label, saga: null, error: null }, ...list].slice(0, 10));
    // A saga may not be readable the very instant its 202 arrives (or a replica restarts): retry a few times.
    const fetch = () => this.api.saga(id).pipe(retry({ count: 5, delay: 1000 }));
    pollUntil(fetch, (s) => TERMINAL.includes(s.state), 1000).subscribe({
      next: (saga) => {
        this.patch(id, { saga });
        if (TERMINAL.includes(saga.state)) onEnd?.(saga);
      },
      error: (err: unknown) => this.patch(id, { error: errorLine(err) }),
    });
  }

  dismiss(id: string): void {
    this.sagas.update((list) => list.filter((s) => s.id !== id));
  }

  private patch(id: string, change: Partial<TrackedSaga>): void {
    this.sagas.update((list) => list.map((s) => (s.id === id ? { ...s, ...change } : s)));
  }
}
