import { HttpErrorResponse, HttpInterceptorFn, HttpRequest } from '@angular/common/http';
import { inject } from '@angular/core';
import { Router } from '@angular/router';
import { catchError, switchMap, throwError } from 'rxjs';

import { AuthService } from './auth.service';
import { APP_CONFIG, AppConfig } from './config';

/** Only our own services get the bearer token; signed download links and config.json do not. */
export function isApiRequest(url: string, config: AppConfig): boolean {
  const bases = [config.adminUrl, config.ingesterUrl, config.queryUrl];
  return bases.some((base) => url.startsWith(`${base}/api/`));
}

function withToken(req: HttpRequest<unknown>, token: string | null): HttpRequest<unknown> {
  return token ? req.clone({ setHeaders: { Authorization: `Bearer ${token}` } }) : req;
}

/**
 * Adds `Authorization: Bearer` to API calls. A token about to expire is refreshed first;
 * a 401 triggers one refresh and one retry; a failed refresh ends the session.
 */
export const authInterceptor: HttpInterceptorFn = (req, next) => {
  const config = inject(APP_CONFIG);
  const auth = inject(AuthService);
  const router = inject(Router);
  if (!isApiRequest(req.url, config) || req.url.startsWith(auth.tokenUrl)) return next(req);

  const endSession = (err: unknown) => {
    auth.clear();
    void router.navigate(['/login'], { queryParams: { reason: 'expired' } });
    return throwError(() => err);
  };
  const retryWithRefresh = () =>
    auth.refresh().pipe(
      catchError((refreshErr: unknown) => endSession(refreshErr)),
      switchMap((token) => next(withToken(req, token))),
    );

  if (!auth.accessTokenFresh() && auth.hasRefreshToken()) return retryWithRefresh();
  return next(withToken(req, auth.accessToken())).pipe(
    catchError((err: unknown) => {
      if (err instanceof HttpErrorResponse && err.status === 401 && auth.hasRefreshToken()) {
        return retryWithRefresh();
      }
      return throwError(() => err);
    }),
  );
};
