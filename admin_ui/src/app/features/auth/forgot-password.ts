import { Component, inject, signal } from '@angular/core';
import { FormBuilder, ReactiveFormsModule, Validators } from '@angular/forms';
import { MatButtonModule } from '@angular/material/button';
import { MatFormFieldModule } from '@angular/material/form-field';
import { MatIconModule } from '@angular/material/icon';
import { MatInputModule } from '@angular/material/input';
import { RouterLink } from '@angular/router';
import { firstValueFrom } from 'rxjs';

import { AdminApi } from '../../api/admin.api';
import { UiError, toUiError } from '../../api/problem';
import { PageState } from '../../shared/page-state';

@Component({
  selector: 'app-forgot-password',
  imports: [ReactiveFormsModule, MatFormFieldModule, MatInputModule, MatButtonModule, MatIconModule, RouterLink, PageState],
  template: `
    <div class="auth-wrap">
      <div class="auth-card">
        <h1><mat-icon>lock_reset</mat-icon> Forgot password</h1>
        @if (sent()) {
          <div class="state-box ok" role="status">
            If a local account matches, a one-time reset token is on its way by mail. It is valid for 15 minutes.
            Directory (LDAP) accounts change their password in the directory.
          </div>
          <div class="links"><a routerLink="/reset-password">Enter the token</a><a routerLink="/login">Back to sign-in</a></div>
        } @else {
          <form [formGroup]="form" (ngSubmit)="submit()">
            <mat-form-field>
              <mat-label>Username or email</mat-label>
              <input matInput formControlName="login" autocomplete="username" />
            </mat-form-field>
            <app-page-state [error]="error()" [loading]="busy()" />
            <button mat-flat-button type="submit" [disabled]="busy() || form.invalid">Send reset token</button>
          </form>
          <div class="links"><a routerLink="/login">Back to sign-in</a></div>
        }
      </div>
    </div>
  `,
})
export class ForgotPasswordPage {
  private readonly api = inject(AdminApi);
  readonly form = inject(FormBuilder).nonNullable.group({ login: ['', Validators.required] });
  readonly busy = signal(false);
  readonly sent = signal(false);
  readonly error = signal<UiError | null>(null);

  async submit(): Promise<void> {
    this.busy.set(true);
    this.error.set(null);
    try {
      await firstValueFrom(this.api.requestPasswordReset(this.form.getRawValue().login.trim()), { defaultValue: undefined });
      this.sent.set(true);
    } catch (err) {
      this.error.set(toUiError(err));
    } finally {
      this.busy.set(false);
    }
  }
}
