// Shared set-up of the component specs (imported by *.spec.ts only): the real HttpClient with the
// auth interceptor over Angular's HttpTestingController, fixed service URLs, Material without
// animations, and a signed-in role.
import { provideHttpClient, withInterceptors } from '@angular/common/http';
import { HttpTestingController, provideHttpClientTesting } from '@angular/common/http/testing';
import { TestBed } from '@angular/core/testing';
import { MATERIAL_ANIMATIONS } from '@angular/material/core';
import { provideRouter } from '@angular/router';

import { Role } from '../api/types';
import { authInterceptor } from '../core/auth.interceptor';
import { AuthService } from '../core/auth.service';
import { APP_CONFIG, AppConfig } from '../core/config';

export const TEST_CONFIG: AppConfig = { adminUrl: 'http://a', ingesterUrl: 'http://i', queryUrl: 'http://q' };

export function setupHttp(): HttpTestingController {
  sessionStorage.clear();
  TestBed.configureTestingModule({
    providers: [provideRouter([]), provideHttpClient(withInterceptors([authInterceptor])), provideHttpClientTesting(),
      { provide: APP_CONFIG, useValue: TEST_CONFIG },
      // Dialogs close at once: jsdom plays no animations.
      { provide: MATERIAL_ANIMATIONS, useValue: { animationsDisabled: true } }],
  });
  return TestBed.inject(HttpTestingController);
}

/** Render, let pending work finish, render again. */
export async function settle(fixture: { whenStable(): Promise<unknown>; detectChanges(): void }): Promise<void> {
  fixture.detectChanges();
  await fixture.whenStable();
  fixture.detectChanges();
}

/** Real time passes (debounces, `timer(0)`), then the view is rendered. */
export async function wait(ms: number, fixture?: { whenStable(): Promise<unknown>; detectChanges(): void }): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  if (fixture) await settle(fixture);
}

/** Signs in through the token endpoint with an access token carrying `role`. */
export async function signIn(ctl: HttpTestingController, role: Role): Promise<void> {
  const b64 = (o: object) => btoa(JSON.stringify(o)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
  const token = `${b64({ alg: 'RS256' })}.${b64({ sub: 'u1', preferred_username: 'ann', role, exp: Math.floor(Date.now() / 1000) + 1800 })}.sig`;
  const done = TestBed.inject(AuthService).login('ann', 'pw');
  ctl.expectOne(`${TEST_CONFIG.adminUrl}/api/v1/auth/token`)
    .flush({ access_token: token, token_type: 'Bearer', expires_in: 1800, refresh_token: 'R1', scope: '' });
  await done;
}

/** The open dialog (Material renders it outside the fixture, in the overlay container). */
export function dialog(): HTMLElement | null {
  return document.querySelector<HTMLElement>('mat-dialog-container');
}

/** Clicks the button of the open dialog whose text includes `label`. */
export function clickDialogButton(label: string): void {
  const button = Array.from(dialog()?.querySelectorAll<HTMLButtonElement>('button') ?? []).find((b) => b.textContent?.includes(label));
  if (!button) throw new Error(`no dialog button "${label}" in: ${dialog()?.textContent ?? 'no dialog'}`);
  button.click();
}
