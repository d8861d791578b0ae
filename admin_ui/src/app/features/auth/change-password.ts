import { Component, inject, signal } from '@angular/core';
import { FormBuilder, ReactiveFormsModule, Validators } from '@angular/forms';
import { MatButtonModule } from '@angular/material/button';
import { MatFormFieldModule } from '@angular/material/form-field';
import { MatInputModule } from '@angular/material/input';
import { firstValueFrom } from 'rxjs';

import { AdminApi } from '../../api/admin.api';
import { UiError, toUiError } from '../../api/problem';
import { PageState } from '../../shared/page-state';
import { passwordsMatch } from './passwords';

@Component({
  selector: 'app-change-password',
  imports: [ReactiveFormsModule, MatFormFieldModule, MatInputModule, MatButtonModule, PageState],
  template: `
    <h1 class="page-title">Change my password</h1>
    <div class="card" style="max-width: 460px">
      @if (done()) { <div class="state-box ok" role="status">Password changed.</div> }
      <form [formGroup]="form" (ngSubmit)="submit()" style="display:flex; flex-direction:column; gap:14px">
        <mat-form-field>
          <mat-label>Current password</mat-label>
          <input matInput type="password" formControlName="current_password" autocomplete="current-password" />
        </mat-form-field>
        <mat-form-field>
          <mat-label>New password</mat-label>
          <input matInput type="password" formControlName="new_password" autocomplete="new-password" />
        </mat-form-field>
        <mat-form-field>
          <mat-label>Repeat new password</mat-label>
          <input matInput type="password" formControlName="confirm" autocomplete="new-password" />
          @if (form.hasError('mismatch')) { <mat-hint>The passwords differ.</mat-hint> }
        </mat-form-field>
        <app-page-state [error]="error()" [loading]="busy()" />
        <div><button mat-flat-button type="submit" [disabled]="busy() || form.invalid">Change password</button></div>
      </form>
      <p class="muted small">Directory (LDAP) accounts change their password in the directory; the server answers 409 for them.</p>
    </div>
  `,
})
export class ChangePasswordPage {
  private readonly api = inject(AdminApi);
  readonly busy = signal(false);
  readonly done = signal(false);
  readonly error = signal<UiError | null>(null);
  readonly form = inject(FormBuilder).nonNullable.group(
    { current_password: ['', Validators.required], new_password: ['', Validators.required], confirm: ['', Validators.required] },
    { validators: passwordsMatch },
  );

  async submit(): Promise<void> {
    this.busy.set(true);
    this.error.set(null);
    this.done.set(false);
    const { current_password, new_password } = this.form.getRawValue();
    try {
      await firstValueFrom(this.api.changeMyPassword(current_password, new_password), { defaultValue: undefined });
      this.done.set(true);
      this.form.reset();
    } catch (err) {
      this.error.set(toUiError(err));
    } finally {
      this.busy.set(false);
    }
  }
}
