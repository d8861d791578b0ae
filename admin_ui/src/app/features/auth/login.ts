import { Component, inject, input, signal } from '@angular/core';
import { FormBuilder, ReactiveFormsModule, Validators } from '@angular/forms';
import { MatButtonModule } from '@angular/material/button';
import { MatFormFieldModule } from '@angular/material/form-field';
import { MatIconModule } from '@angular/material/icon';
import { MatInputModule } from '@angular/material/input';
import { MatProgressBarModule } from '@angular/material/progress-bar';
import { Router, RouterLink } from '@angular/router';

import { UiError, toUiError } from '../../api/problem';
import { AuthService } from '../../core/auth.service';
import { homeFor } from '../../core/roles';
import { PageState } from '../../shared/page-state';

/** Sign-in for LOCAL and LDAP users alike: the admin module decides which by the account. */
@Component({
  selector: 'app-login',
  imports: [ReactiveFormsModule, MatFormFieldModule, MatInputModule, MatButtonModule, MatIconModule,
    MatProgressBarModule, RouterLink, PageState],
  template: `
    <div class="auth-wrap">
      <div class="auth-card">
        <h1><mat-icon>inventory_2</mat-icon> ArtStore</h1>
        <div class="muted">Sign in with your ArtStore or directory (LDAP) account.</div>
        @if (reason() === 'expired') {
          <div class="state-box error small">Your session ended. Please sign in again.</div>
        }
        <form [formGroup]="form" (ngSubmit)="submit()">
          <mat-form-field>
            <mat-label>Username</mat-label>
            <input matInput formControlName="username" autocomplete="username" data-testid="login-username" />
          </mat-form-field>
          <mat-form-field>
            <mat-label>Password</mat-label>
            <input matInput type="password" formControlName="password" autocomplete="current-password" data-testid="login-password" />
          </mat-form-field>
          <app-page-state [error]="error()" />
          <button mat-flat-button type="submit" [disabled]="busy() || form.invalid" data-testid="login-submit">Sign in</button>
          @if (busy()) { <mat-progress-bar mode="indeterminate" /> }
        </form>
        <div class="links">
          <a routerLink="/forgot-password">Forgot password?</a>
          <a routerLink="/reset-password">I have a reset token</a>
        </div>
      </div>
    </div>
  `,
})
export class LoginPage {
  private readonly auth = inject(AuthService);
  private readonly router = inject(Router);
  readonly returnUrl = input<string>();
  readonly reason = input<string>();
  readonly busy = signal(false);
  readonly error = signal<UiError | null>(null);
  readonly form = inject(FormBuilder).nonNullable.group({
    username: ['', Validators.required],
    password: ['', Validators.required],
  });

  async submit(): Promise<void> {
    if (this.form.invalid) return;
    this.busy.set(true);
    this.error.set(null);
    const { username, password } = this.form.getRawValue();
    try {
      await this.auth.login(username.trim(), password);
      if (!this.auth.role()) {
        this.auth.clear();
        this.error.set({ status: 403, title: 'Not allowed', message: 'This account has no role in ArtStore.' });
        return;
      }
      await this.router.navigateByUrl(this.returnUrl() || homeFor(this.auth.role()));
    } catch (err) {
      this.error.set(loginError(err));
      this.form.controls.password.reset();
    } finally {
      this.busy.set(false);
    }
  }
}

/** The token endpoint's OAuth errors, worded for a person (lockout text comes from the server). */
export function loginError(err: unknown): UiError {
  const e = toUiError(err);
  if (e.code === 'invalid_grant') return { ...e, title: 'Sign-in failed' };
  if (e.status === 429) return { ...e, title: 'Too many attempts' };
  if (e.code === 'temporarily_unavailable') return { ...e, title: 'Directory unavailable' };
  return e;
}
