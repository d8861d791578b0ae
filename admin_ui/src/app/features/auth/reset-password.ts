import { Component, OnInit, inject, input, signal } from '@angular/core';
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
import { passwordsMatch } from './passwords';

@Component({
  selector: 'app-reset-password',
  imports: [ReactiveFormsModule, MatFormFieldModule, MatInputModule, MatButtonModule, MatIconModule, RouterLink, PageState],
  template: `
    <div class="auth-wrap">
      <div class="auth-card">
        <h1><mat-icon>key</mat-icon> Set a new password</h1>
        @if (done()) {
          <div class="state-box ok" role="status">Your password was changed. You can sign in now.</div>
          <div class="links"><a routerLink="/login">Sign in</a></div>
        } @else {
          <form [formGroup]="form" (ngSubmit)="submit()">
            <mat-form-field>
              <mat-label>Reset token (from the mail)</mat-label>
              <input matInput formControlName="token" autocomplete="one-time-code" />
            </mat-form-field>
            <mat-form-field>
              <mat-label>New password</mat-label>
              <input matInput type="password" formControlName="new_password" autocomplete="new-password" />
            </mat-form-field>
            <mat-form-field>
              <mat-label>Repeat new password</mat-label>
              <input matInput type="password" formControlName="confirm" autocomplete="new-password" />
              @if (form.hasError('mismatch')) { <mat-hint class="warn-text">The passwords differ.</mat-hint> }
            </mat-form-field>
            <app-page-state [error]="error()" [loading]="busy()" />
            <button mat-flat-button type="submit" [disabled]="busy() || form.invalid">Change password</button>
          </form>
          <div class="links"><a routerLink="/login">Back to sign-in</a></div>
        }
      </div>
    </div>
  `,
})
export class ResetPasswordPage implements OnInit {
  private readonly api = inject(AdminApi);
  readonly token = input<string>();
  readonly busy = signal(false);
  readonly done = signal(false);
  readonly error = signal<UiError | null>(null);
  readonly form = inject(FormBuilder).nonNullable.group(
    { token: ['', Validators.required], new_password: ['', Validators.required], confirm: ['', Validators.required] },
    { validators: passwordsMatch },
  );

  ngOnInit(): void {
    const token = this.token();
    if (token) this.form.controls.token.setValue(token);
  }

  async submit(): Promise<void> {
    this.busy.set(true);
    this.error.set(null);
    const { token, new_password } = this.form.getRawValue();
    try {
      await firstValueFrom(this.api.confirmPasswordReset(token.trim(), new_password), { defaultValue: undefined });
      this.done.set(true);
    } catch (err) {
      this.error.set(toUiError(err));
    } finally {
      this.busy.set(false);
    }
  }
}
