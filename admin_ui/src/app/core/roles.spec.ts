import { TestBed } from '@angular/core/testing';
import { ActivatedRouteSnapshot, Router, RouterStateSnapshot, UrlTree, provideRouter } from '@angular/router';
import { provideHttpClient } from '@angular/common/http';
import { provideHttpClientTesting } from '@angular/common/http/testing';

import { AuthService } from './auth.service';
import { APP_CONFIG, DEFAULT_CONFIG } from './config';
import { homeRedirect, roleGuard } from './guards';
import { hasRole, homeFor, navFor } from './roles';

describe('roles', () => {
  it('ranks USER < OPERATOR < ADMIN and rejects unknown roles', () => {
    expect(hasRole('ADMIN', 'OPERATOR')).toBe(true);
    expect(hasRole('OPERATOR', 'ADMIN')).toBe(false);
    expect(hasRole('USER', 'USER')).toBe(true);
    expect(hasRole('SUPERUSER' as never, 'USER')).toBe(false);
    expect(hasRole(null, 'USER')).toBe(false);
  });

  it('shows USER files only, OPERATOR plus storage, ADMIN everything', () => {
    expect(navFor('USER').map((n) => n.path)).toEqual(['/files']);
    expect(navFor('OPERATOR').map((n) => n.path)).toEqual(['/dashboard', '/files', '/storage']);
    expect(navFor('ADMIN').map((n) => n.path)).toEqual(
      ['/dashboard', '/files', '/storage', '/users', '/service-accounts', '/keys', '/audit']);
    expect(navFor(null)).toEqual([]);
    expect(homeFor('USER')).toBe('/files');
    expect(homeFor('OPERATOR')).toBe('/dashboard');
  });
});

function jwt(claims: object): string {
  const b64 = (o: object) => btoa(JSON.stringify(o)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
  return `${b64({ alg: 'RS256' })}.${b64(claims)}.sig`;
}

describe('roleGuard', () => {
  let auth: AuthService;
  let router: Router;

  beforeEach(() => {
    sessionStorage.clear();
    TestBed.configureTestingModule({
      providers: [provideRouter([]), provideHttpClient(), provideHttpClientTesting(), { provide: APP_CONFIG, useValue: DEFAULT_CONFIG }],
    });
    auth = TestBed.inject(AuthService);
    router = TestBed.inject(Router);
  });

  function signIn(role: string): void {
    (auth as unknown as { token: { set(v: string): void } }).token.set(jwt({ sub: 'u', role, exp: Date.now() / 1000 + 600 }));
  }
  function run(min: 'USER' | 'OPERATOR' | 'ADMIN', url: string): boolean | UrlTree {
    return TestBed.runInInjectionContext(() =>
      roleGuard(min)({} as ActivatedRouteSnapshot, { url } as RouterStateSnapshot)) as boolean | UrlTree;
  }

  it('sends a visitor to the login page with the return URL', () => {
    const result = run('USER', '/files?q=x');
    expect(router.serializeUrl(result as UrlTree)).toBe('/login?returnUrl=%2Ffiles%3Fq%3Dx');
  });

  it('lets a role reach its pages and sends it home from the others', () => {
    signIn('USER');
    expect(run('USER', '/files')).toBe(true);
    expect(router.serializeUrl(run('OPERATOR', '/storage') as UrlTree)).toBe('/files');
    signIn('OPERATOR');
    expect(run('OPERATOR', '/storage')).toBe(true);
    expect(router.serializeUrl(run('ADMIN', '/users') as UrlTree)).toBe('/dashboard');
    signIn('ADMIN');
    expect(run('ADMIN', '/audit')).toBe(true);
  });

  it('treats a token without a known role as no access', () => {
    signIn('ROOT');
    expect(router.serializeUrl(run('USER', '/files') as UrlTree)).toBe('/files');
    expect(auth.role()).toBeNull();
  });

  it('redirects / to the role home', () => {
    signIn('OPERATOR');
    const result = TestBed.runInInjectionContext(() => homeRedirect({} as ActivatedRouteSnapshot, {} as RouterStateSnapshot));
    expect(router.serializeUrl(result as UrlTree)).toBe('/dashboard');
  });
});
