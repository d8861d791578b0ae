import { HttpBackend, HttpClient, HttpHeaders, HttpParams } from '@angular/common/http';
import { Injectable, computed, inject, signal } from '@angular/core';
import { Observable, finalize, firstValueFrom, map, shareReplay, tap, throwError } from 'rxjs';

import { Role, TokenResponse } from '../api/types';
import { APP_CONFIG } from './config';
import { decodeJwt, isExpiring } from './jwt';
import { isRole } from './roles';

/** The refresh token lives in sessionStorage at most (one tab, gone with it); the access token in memory only. */
export const REFRESH_KEY = 'artstore.refresh_token';

const FORM = new HttpHeaders({ 'Content-Type': 'application/x-www-form-urlencoded' });

@Injectable({ providedIn: 'root' })
export class AuthService {
  private readonly config = inject(APP_CONFIG);
  /** Token calls bypass the interceptors, so a failing refresh never recurses. */
  private readonly http = new HttpClient(inject(HttpBackend));
  private refreshing$: Observable<string> | null = null;

  private readonly token = signal<string | null>(null);
  readonly claims = computed(() => decodeJwt(this.token()));
  readonly role = computed<Role | null>(() => {
    const role = this.claims()?.role;
    return isRole(role) ? role : null;
  });
  readonly username = computed(() => this.claims()?.preferred_username ?? this.claims()?.sub ?? '');
  readonly signedIn = computed(() => this.token() !== null);

  get tokenUrl(): string {
    return `${this.config.adminUrl}/api/v1/auth/token`;
  }

  accessToken(): string | null {
    return this.token();
  }

  accessTokenFresh(now = Date.now()): boolean {
    return this.token() !== null && !isExpiring(this.claims(), now);
  }

  hasRefreshToken(): boolean {
    return !!sessionStorage.getItem(REFRESH_KEY);
  }

  login(username: string, password: string): Promise<void> {
    const body = new HttpParams({ fromObject: { grant_type: 'password', username, password } });
    return firstValueFrom(this.post(body)).then(() => undefined);
  }

  /** One refresh at a time: concurrent 401s share the same in-flight call. */
  refresh(): Observable<string> {
    if (this.refreshing$) return this.refreshing$;
    const refreshToken = sessionStorage.getItem(REFRESH_KEY);
    if (!refreshToken) return throwError(() => new Error('No refresh token'));
    const body = new HttpParams({
      fromObject: { grant_type: 'refresh_token', refresh_token: refreshToken },
    });
    this.refreshing$ = this.post(body).pipe(
      map((res) => res.access_token),
      finalize(() => (this.refreshing$ = null)),
      shareReplay(1),
    );
    return this.refreshing$;
  }

  /** On start-up: a page reload keeps the session through the refresh token. */
  async restore(): Promise<void> {
    if (!this.hasRefreshToken()) return;
    try {
      await firstValueFrom(this.refresh());
    } catch {
      this.clear();
    }
  }

  async logout(): Promise<void> {
    const refreshToken = sessionStorage.getItem(REFRESH_KEY);
    this.clear();
    if (!refreshToken) return;
    const body = new HttpParams({ fromObject: { token: refreshToken, token_type_hint: 'refresh_token' } });
    try {
      await firstValueFrom(
        this.http.post(`${this.config.adminUrl}/api/v1/auth/revoke`, body.toString(), { headers: FORM }),
      );
    } catch {
      /* revocation is best effort: the token is forgotten here either way */
    }
  }

  clear(): void {
    this.token.set(null);
    sessionStorage.removeItem(REFRESH_KEY);
  }

  private post(body: HttpParams): Observable<TokenResponse> {
    return this.http
      .post<TokenResponse>(this.tokenUrl, body.toString(), { headers: FORM })
      .pipe(tap((res) => this.accept(res)));
  }

  private accept(res: TokenResponse): void {
    this.token.set(res.access_token);
    if (res.refresh_token) sessionStorage.setItem(REFRESH_KEY, res.refresh_token);
  }
}
