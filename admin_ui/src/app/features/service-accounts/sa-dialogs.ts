import { Clipboard } from '@angular/cdk/clipboard';
import { Component, inject, signal } from '@angular/core';
import { FormsModule } from '@angular/forms';
import { MatButtonModule } from '@angular/material/button';
import { MatCheckboxModule } from '@angular/material/checkbox';
import { MAT_DIALOG_DATA, MatDialogModule } from '@angular/material/dialog';
import { MatFormFieldModule } from '@angular/material/form-field';
import { MatIconModule } from '@angular/material/icon';
import { MatInputModule } from '@angular/material/input';

import { ServiceAccount, ServiceAccountWithSecret } from '../../api/types';

/** The scopes of ARCHITECTURE.md §4 that a service account may hold. */
export const SCOPES = [
  'files:read', 'files:write', 'files:write-on-behalf', 'files:delete', 'files:relocate', 'feed:read',
  'storage:read', 'storage:admin', 'storage:register', 'audit:write', 'identity:admin',
];

@Component({
  selector: 'app-sa-create',
  imports: [MatDialogModule, MatButtonModule, MatFormFieldModule, MatInputModule, MatCheckboxModule, FormsModule],
  template: `
    <h2 mat-dialog-title>{{ data ? 'Scopes of ' + data.name : 'New service account' }}</h2>
    <mat-dialog-content class="dialog-form">
      @if (!data) {
        <mat-form-field class="full"><mat-label>Name</mat-label><input matInput [(ngModel)]="name" name="name" data-testid="sa-name" /></mat-form-field>
      }
      <div class="scope-grid">
        @for (s of scopes; track s) {
          <mat-checkbox [checked]="chosen.has(s)" (change)="toggle(s)">{{ s }}</mat-checkbox>
        }
      </div>
    </mat-dialog-content>
    <mat-dialog-actions align="end">
      <button mat-button mat-dialog-close>Cancel</button>
      <button mat-flat-button [disabled]="(!data && !name.trim()) || chosen.size === 0"
              [mat-dialog-close]="result()">{{ data ? 'Save' : 'Create' }}</button>
    </mat-dialog-actions>
  `,
})
export class ServiceAccountDialog {
  readonly data = inject<ServiceAccount | null>(MAT_DIALOG_DATA);
  readonly scopes = SCOPES;
  name = '';
  readonly chosen = new Set<string>(this.data?.scopes ?? []);

  result(): { name: string; scopes: string[] } {
    return { name: this.name.trim(), scopes: SCOPES.filter((s) => this.chosen.has(s)) };
  }

  toggle(scope: string): void {
    if (this.chosen.has(scope)) this.chosen.delete(scope);
    else this.chosen.add(scope);
  }
}

/** The only time a secret is visible: shown once, with a copy button. */
@Component({
  selector: 'app-secret-dialog',
  imports: [MatDialogModule, MatButtonModule, MatIconModule],
  template: `
    <h2 mat-dialog-title>Client secret for {{ data.name }}</h2>
    <mat-dialog-content>
      <div class="state-box error small"><mat-icon>warning</mat-icon>
        This secret is shown only once. Copy it now and store it in your secret manager.</div>
      <dl class="fields">
        <dt>Client id</dt><dd class="mono">{{ data.client_id }}</dd>
        <dt>Client secret</dt><dd class="mono secret" data-testid="client-secret">{{ data.client_secret }}</dd>
      </dl>
    </mat-dialog-content>
    <mat-dialog-actions align="end">
      <button mat-stroked-button (click)="copy()"><mat-icon>content_copy</mat-icon> {{ copied() ? 'Copied' : 'Copy secret' }}</button>
      <button mat-flat-button mat-dialog-close>I have stored it</button>
    </mat-dialog-actions>
  `,
})
export class SecretDialog {
  readonly data = inject<ServiceAccountWithSecret>(MAT_DIALOG_DATA);
  private readonly clipboard = inject(Clipboard);
  readonly copied = signal(false);

  copy(): void {
    this.copied.set(this.clipboard.copy(this.data.client_secret));
  }
}
