import { Observable, switchMap, takeWhile, timer } from 'rxjs';

/** Poll `fetch` every `intervalMs` until `done` says so; the final value is emitted too. */
export function pollUntil<T>(fetch: () => Observable<T>, done: (value: T) => boolean, intervalMs = 1000): Observable<T> {
  return timer(0, intervalMs).pipe(
    switchMap(() => fetch()),
    takeWhile((value) => !done(value), true),
  );
}
