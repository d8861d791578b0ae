import { DatePipe } from '@angular/common';
import { Component, OnInit, inject, signal } from '@angular/core';
import { MatButtonModule } from '@angular/material/button';
import { MatDialog } from '@angular/material/dialog';
import { MatIconModule } from '@angular/material/icon';
import { MatTableModule } from '@angular/material/table';
import { firstValueFrom } from 'rxjs';

import { AdminApi, itemsOf } from '../../api/admin.api';
import { UiError, toUiError } from '../../api/problem';
import { SigningKey } from '../../api/types';
import { confirmAction } from '../../shared/confirm-dialog';
import { Notify } from '../../shared/notify.service';
import { PageState } from '../../shared/page-state';

@Component({
  selector: 'app-keys',
  imports: [DatePipe, PageState, MatTableModule, MatButtonModule, MatIconModule],
  template: `
    <h1 class="page-title">Signing keys <span class="spacer"></span>
      <button mat-flat-button (click)="rotate()" [disabled]="rotating()"><mat-icon>autorenew</mat-icon> Rotate key</button></h1>
    <section class="card">
      <p class="muted small">Access tokens are signed with the active key. After a rotation, the previous key keeps verifying
        until the last token it signed has expired, then leaves the JWKS.</p>
      <app-page-state [loading]="loading()" [error]="error()" [empty]="!loading() && !error() && keys().length === 0" emptyText="No signing key." />
      @if (keys().length) {
        <div class="table-wrap">
          <table mat-table [dataSource]="keys()">
            <ng-container matColumnDef="kid"><th mat-header-cell *matHeaderCellDef>Key id</th><td mat-cell *matCellDef="let k" class="mono">{{ k.kid }}</td></ng-container>
            <ng-container matColumnDef="algorithm"><th mat-header-cell *matHeaderCellDef>Algorithm</th><td mat-cell *matCellDef="let k">{{ k.algorithm }}</td></ng-container>
            <ng-container matColumnDef="created"><th mat-header-cell *matHeaderCellDef>Created</th>
              <td mat-cell *matCellDef="let k">{{ k.created_at | date: 'yyyy-MM-dd HH:mm' }}</td></ng-container>
            <ng-container matColumnDef="state"><th mat-header-cell *matHeaderCellDef>State</th>
              <td mat-cell *matCellDef="let k"><span class="badge {{ k.state }}">{{ k.state }}</span></td></ng-container>
            <ng-container matColumnDef="verify_until"><th mat-header-cell *matHeaderCellDef>Verifies until</th>
              <td mat-cell *matCellDef="let k">{{ (k.verify_until | date: 'yyyy-MM-dd HH:mm') || '—' }}</td></ng-container>
            <tr mat-header-row *matHeaderRowDef="columns"></tr>
            <tr mat-row *matRowDef="let k; columns: columns"></tr>
          </table>
        </div>
      }
    </section>
  `,
})
export class KeysPage implements OnInit {
  private readonly api = inject(AdminApi);
  private readonly dialog = inject(MatDialog);
  private readonly notify = inject(Notify);
  readonly columns = ['kid', 'algorithm', 'created', 'state', 'verify_until'];
  readonly loading = signal(true);
  readonly rotating = signal(false);
  readonly error = signal<UiError | null>(null);
  readonly keys = signal<SigningKey[]>([]);

  ngOnInit(): void {
    this.load();
  }

  load(): void {
    this.api.keys().subscribe({
      next: (res) => { this.keys.set(itemsOf(res)); this.error.set(null); this.loading.set(false); },
      error: (err: unknown) => { this.error.set(toUiError(err)); this.loading.set(false); },
    });
  }

  async rotate(): Promise<void> {
    const ok = await firstValueFrom(confirmAction(this.dialog, {
      title: 'Rotate signing key', message: 'Create a new signing key. New tokens are signed with it; existing tokens stay valid.',
      confirmLabel: 'Rotate',
    }));
    if (!ok) return;
    this.rotating.set(true);
    try {
      await firstValueFrom(this.api.rotateKey());
      this.notify.ok('New signing key active.');
      this.load();
    } catch (err) {
      this.notify.error(err, 'Rotation failed');
    } finally {
      this.rotating.set(false);
    }
  }
}
