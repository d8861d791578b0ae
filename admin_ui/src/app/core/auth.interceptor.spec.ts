import { HttpClient, provideHttpClient, withInterceptors } from '@angular/common/http';
import { HttpTestingController, provideHttpClientTesting } from '@angular/common/http/testing';
import { TestBed } from '@angular/core/testing';
import { Router, provideRouter } from '@angular/router';
import { firstValueFrom } from 'rxjs';

import { authInterceptor, isApiRequest } from './auth.interceptor';
import { AuthService, REFRESH_KEY } from './auth.service';
import { APP_CONFIG, AppConfig } from './config';

const CONFIG: AppConfig = { adminUrl: 'http://a:8000', ingesterUrl: 'http://i:8020', queryUrl: '/svc/query' };
const TOKEN_URL = 'http://a:8000/api/v1/auth/token';

function jwt(role: string, expInSeconds: number, marker = 'x'): string {
  const b64 = (o: object) => btoa(JSON.stringify(o)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
  return `${b64({ alg: 'RS256' })}.${b64({ sub: 'u1', preferred_username: 'ann', role, marker, exp: Math.floor(Date.now() / 1000) + expInSeconds })}.sig`;
}

describe('authInterceptor', () => {
  let http: HttpClient;
  let ctl: HttpTestingController;
  let auth: AuthService;
  let router: Router;

  beforeEach(() => {
    sessionStorage.clear();
    localStorage.clear();
    TestBed.configureTestingModule({
      providers: [
        provideRouter([]),
        provideHttpClient(withInterceptors([authInterceptor])),
        provideHttpClientTesting(),
        { provide: APP_CONFIG, useValue: CONFIG },
      ],
    });
    http = TestBed.inject(HttpClient);
    ctl = TestBed.inject(HttpTestingController);
    auth = TestBed.inject(AuthService);
    router = TestBed.inject(Router);
  });

  afterEach(() => ctl.verify());

  async function login(accessTtl = 1800): Promise<void> {
    const done = auth.login('ann', 'pw');
    const req = ctl.expectOne(TOKEN_URL);
    expect(req.request.headers.get('Content-Type')).toBe('application/x-www-form-urlencoded');
    expect(req.request.body).toBe('grant_type=password&username=ann&password=pw');
    req.flush({ access_token: jwt('OPERATOR', accessTtl, 'first'), token_type: 'Bearer', expires_in: accessTtl, refresh_token: 'R1', scope: '' });
    await done;
  }

  it('keeps the access token in memory and only the refresh token in sessionStorage', async () => {
    await login();
    expect(auth.role()).toBe('OPERATOR');
    expect(auth.username()).toBe('ann');
    expect(sessionStorage.getItem(REFRESH_KEY)).toBe('R1');
    const stored = [...Object.values({ ...localStorage }), ...Object.values({ ...sessionStorage })];
    expect(stored.some((v) => String(v).includes(auth.accessToken()!))).toBe(false);
  });

  it('adds the bearer token to API calls only', async () => {
    await login();
    http.get('http://i:8020/api/v1/sagas/s1').subscribe();
    http.get('/svc/query/api/v1/search').subscribe();
    http.get('http://elsewhere/signed-download').subscribe();
    expect(ctl.expectOne('http://i:8020/api/v1/sagas/s1').request.headers.get('Authorization')).toBe(`Bearer ${auth.accessToken()}`);
    expect(ctl.expectOne('/svc/query/api/v1/search').request.headers.has('Authorization')).toBe(true);
    expect(ctl.expectOne('http://elsewhere/signed-download').request.headers.has('Authorization')).toBe(false);
  });

  it('refreshes once on 401 and retries with the new token', async () => {
    await login();
    const result = firstValueFrom(http.get<{ ok: boolean }>('http://a:8000/api/v1/users/me'));
    ctl.expectOne('http://a:8000/api/v1/users/me').flush({ title: 'Unauthorized' }, { status: 401, statusText: 'Unauthorized' });
    const refresh = ctl.expectOne(TOKEN_URL);
    expect(refresh.request.body).toBe('grant_type=refresh_token&refresh_token=R1');
    const fresh = jwt('OPERATOR', 1800, 'second');
    refresh.flush({ access_token: fresh, token_type: 'Bearer', expires_in: 1800, refresh_token: 'R2', scope: '' });
    const retry = ctl.expectOne('http://a:8000/api/v1/users/me');
    expect(retry.request.headers.get('Authorization')).toBe(`Bearer ${fresh}`);
    retry.flush({ ok: true });
    expect(await result).toEqual({ ok: true });
    expect(sessionStorage.getItem(REFRESH_KEY)).toBe('R2');
  });

  it('shares one refresh between concurrent 401s', async () => {
    await login();
    const a = firstValueFrom(http.get('http://a:8000/api/v1/keys'));
    const b = firstValueFrom(http.get('http://a:8000/api/v1/fleet'));
    ctl.expectOne('http://a:8000/api/v1/keys').flush(null, { status: 401, statusText: 'Unauthorized' });
    ctl.expectOne('http://a:8000/api/v1/fleet').flush(null, { status: 401, statusText: 'Unauthorized' });
    const refreshes = ctl.match(TOKEN_URL);
    expect(refreshes.length).toBe(1);
    refreshes[0].flush({ access_token: jwt('OPERATOR', 1800, 'b'), token_type: 'Bearer', expires_in: 1800, refresh_token: 'R2', scope: '' });
    ctl.expectOne('http://a:8000/api/v1/keys').flush([]);
    ctl.expectOne('http://a:8000/api/v1/fleet').flush([]);
    await Promise.all([a, b]);
  });

  it('refreshes before sending when the access token is about to expire', async () => {
    await login(10);
    http.get('http://i:8020/api/v1/sagas/s2').subscribe();
    ctl.expectOne(TOKEN_URL).flush({ access_token: jwt('OPERATOR', 1800, 'c'), token_type: 'Bearer', expires_in: 1800, refresh_token: 'R3', scope: '' });
    const req = ctl.expectOne('http://i:8020/api/v1/sagas/s2');
    expect(req.request.headers.get('Authorization')).toBe(`Bearer ${auth.accessToken()}`);
    req.flush({});
  });

  it('ends the session when the refresh token is refused', async () => {
    await login();
    const nav = vi.spyOn(router, 'navigate').mockResolvedValue(true);
    const result = firstValueFrom(http.get('http://a:8000/api/v1/users'));
    ctl.expectOne('http://a:8000/api/v1/users').flush(null, { status: 401, statusText: 'Unauthorized' });
    ctl.expectOne(TOKEN_URL).flush({ error: 'invalid_grant' }, { status: 400, statusText: 'Bad Request' });
    await expect(result).rejects.toBeTruthy();
    expect(auth.signedIn()).toBe(false);
    expect(sessionStorage.getItem(REFRESH_KEY)).toBeNull();
    expect(nav).toHaveBeenCalledWith(['/login'], { queryParams: { reason: 'expired' } });
  });

  it('passes a 401 through when there is no refresh token', async () => {
    const result = firstValueFrom(http.get('http://a:8000/api/v1/users/me'));
    ctl.expectOne('http://a:8000/api/v1/users/me').flush(null, { status: 401, statusText: 'Unauthorized' });
    await expect(result).rejects.toMatchObject({ status: 401 });
  });

  it('revokes the refresh token on logout', async () => {
    await login();
    const out = auth.logout();
    const revoke = ctl.expectOne('http://a:8000/api/v1/auth/revoke');
    expect(revoke.request.body).toBe('token=R1&token_type_hint=refresh_token');
    revoke.flush({});
    await out;
    expect(auth.signedIn()).toBe(false);
  });

  it('knows which URLs are ours', () => {
    expect(isApiRequest('http://a:8000/api/v1/keys', CONFIG)).toBe(true);
    expect(isApiRequest('http://a:8000.evil/api/v1/keys', CONFIG)).toBe(false);
    expect(isApiRequest('config.json', CONFIG)).toBe(false);
  });
});
