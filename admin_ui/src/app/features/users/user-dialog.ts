import { Component, inject } from '@angular/core';
import { FormBuilder, ReactiveFormsModule, Validators } from '@angular/forms';
import { MatButtonModule } from '@angular/material/button';
import { MAT_DIALOG_DATA, MatDialogModule, MatDialogRef } from '@angular/material/dialog';
import { MatFormFieldModule } from '@angular/material/form-field';
import { MatInputModule } from '@angular/material/input';
import { MatSelectModule } from '@angular/material/select';

import { Role, User, UserCreate, UserPatch } from '../../api/types';

/** Create a LOCAL user (with a password) or edit one (role, status, names, email). */
@Component({
  selector: 'app-user-dialog',
  imports: [MatDialogModule, MatButtonModule, MatFormFieldModule, MatInputModule, MatSelectModule, ReactiveFormsModule],
  template: `
    <h2 mat-dialog-title>{{ user ? 'Edit ' + user.username : 'New local user' }}</h2>
    <mat-dialog-content>
      <form [formGroup]="form" class="dialog-form">
        @if (!user) {
          <mat-form-field><mat-label>Username</mat-label><input matInput formControlName="username" data-testid="new-username" /></mat-form-field>
          <mat-form-field><mat-label>Initial password</mat-label>
            <input matInput type="password" formControlName="password" autocomplete="new-password" data-testid="new-password" /></mat-form-field>
        }
        <mat-form-field><mat-label>Role</mat-label>
          <mat-select formControlName="role" data-testid="new-role">
            @for (r of roles; track r) { <mat-option [value]="r">{{ r }}</mat-option> }
          </mat-select></mat-form-field>
        @if (user) {
          <mat-form-field><mat-label>Status</mat-label>
            <mat-select formControlName="status">
              <mat-option value="ACTIVE">ACTIVE</mat-option><mat-option value="INACTIVE">INACTIVE</mat-option>
            </mat-select></mat-form-field>
        }
        <mat-form-field><mat-label>Full name</mat-label><input matInput formControlName="full_name" /></mat-form-field>
        <mat-form-field><mat-label>Email</mat-label><input matInput type="email" formControlName="email" /></mat-form-field>
      </form>
    </mat-dialog-content>
    <mat-dialog-actions align="end">
      <button mat-button mat-dialog-close>Cancel</button>
      <button mat-flat-button [disabled]="form.invalid" (click)="save()" data-testid="save-user">Save</button>
    </mat-dialog-actions>
  `,
})
export class UserDialog {
  readonly user = inject<User | null>(MAT_DIALOG_DATA);
  private readonly ref = inject(MatDialogRef<UserDialog, UserCreate | UserPatch>);
  readonly roles: Role[] = ['USER', 'OPERATOR', 'ADMIN'];
  readonly form = inject(FormBuilder).nonNullable.group({
    username: [this.user?.username ?? '', this.user ? [] : [Validators.required]],
    password: ['', this.user ? [] : [Validators.required, Validators.minLength(8)]],
    role: [this.user?.role ?? ('USER' as Role), Validators.required],
    status: [this.user?.status === 'INACTIVE' ? 'INACTIVE' : 'ACTIVE'],
    full_name: [this.user?.full_name ?? ''],
    email: [this.user?.email ?? '', Validators.email],
  });

  save(): void {
    const v = this.form.getRawValue();
    const names = { full_name: v.full_name.trim() || undefined, email: v.email.trim() || undefined };
    if (this.user) {
      const patch: UserPatch = { role: v.role, ...names };
      if (this.user.status !== 'LOCKED' && this.user.status !== v.status) patch.status = v.status as UserPatch['status'];
      this.ref.close(patch);
    } else {
      this.ref.close({ username: v.username.trim(), password: v.password, role: v.role, ...names });
    }
  }
}
