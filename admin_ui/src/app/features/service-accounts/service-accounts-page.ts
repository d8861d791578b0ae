import { DatePipe, LowerCasePipe } from '@angular/common';
import { Component, OnInit, inject, signal } from '@angular/core';
import { MatButtonModule } from '@angular/material/button';
import { MatDialog } from '@angular/material/dialog';
import { MatIconModule } from '@angular/material/icon';
import { MatTableModule } from '@angular/material/table';
import { MatTooltipModule } from '@angular/material/tooltip';
import { Observable, firstValueFrom } from 'rxjs';

import { AdminApi, itemsOf } from '../../api/admin.api';
import { UiError, toUiError } from '../../api/problem';
import { ServiceAccount, ServiceAccountWithSecret } from '../../api/types';
import { confirmAction } from '../../shared/confirm-dialog';
import { Notify } from '../../shared/notify.service';
import { PageState } from '../../shared/page-state';
import { SecretDialog, ServiceAccountDialog } from './sa-dialogs';

@Component({
  selector: 'app-service-accounts',
  imports: [DatePipe, LowerCasePipe, PageState, MatTableModule, MatButtonModule, MatIconModule, MatTooltipModule],
  template: `
    <h1 class="page-title">Service accounts <span class="spacer"></span>
      <button mat-flat-button (click)="create()"><mat-icon>add</mat-icon> New service account</button></h1>
    <section class="card">
      <app-page-state [loading]="loading()" [error]="error()" [empty]="!loading() && !error() && items().length === 0" emptyText="No service account." />
      @if (items().length) {
        <div class="table-wrap">
          <table mat-table [dataSource]="items()">
            <ng-container matColumnDef="name"><th mat-header-cell *matHeaderCellDef>Name</th>
              <td mat-cell *matCellDef="let a"><strong>{{ a.name }}</strong> @if (a.fleet) { <span class="badge">fleet</span> }
                <div class="muted small mono">{{ a.client_id }}</div></td></ng-container>
            <ng-container matColumnDef="scopes"><th mat-header-cell *matHeaderCellDef>Scopes</th>
              <td mat-cell *matCellDef="let a">@for (s of a.scopes; track s) { <span class="badge scope">{{ s }}</span> }</td></ng-container>
            <ng-container matColumnDef="status"><th mat-header-cell *matHeaderCellDef>Status</th>
              <td mat-cell *matCellDef="let a"><span class="badge {{ a.status | lowercase }}">{{ a.status }}</span></td></ng-container>
            <ng-container matColumnDef="used"><th mat-header-cell *matHeaderCellDef>Last used</th>
              <td mat-cell *matCellDef="let a">{{ (a.last_used_at | date: 'yyyy-MM-dd HH:mm') || 'never' }}
                <div class="muted small">secret {{ (a.secret_rotated_at || a.created_at) | date: 'yyyy-MM-dd' }}</div></td></ng-container>
            <ng-container matColumnDef="actions"><th mat-header-cell *matHeaderCellDef></th>
              <td mat-cell *matCellDef="let a" class="actions-cell">
                <button mat-icon-button (click)="editScopes(a)" matTooltip="Scopes"><mat-icon>tune</mat-icon></button>
                <button mat-icon-button (click)="rotate(a)" matTooltip="Rotate secret"><mat-icon>autorenew</mat-icon></button>
                @if (a.status === 'ACTIVE') {
                  <button mat-icon-button (click)="setStatus(a, 'SUSPENDED')" matTooltip="Suspend"><mat-icon>pause_circle</mat-icon></button>
                } @else {
                  <button mat-icon-button (click)="setStatus(a, 'ACTIVE')" matTooltip="Reactivate"><mat-icon>play_circle</mat-icon></button>
                }
                <button mat-icon-button (click)="remove(a)" matTooltip="Delete"><mat-icon>delete</mat-icon></button>
              </td></ng-container>
            <tr mat-header-row *matHeaderRowDef="columns"></tr>
            <tr mat-row *matRowDef="let a; columns: columns"></tr>
          </table>
        </div>
      }
    </section>
  `,
})
export class ServiceAccountsPage implements OnInit {
  private readonly api = inject(AdminApi);
  private readonly dialog = inject(MatDialog);
  private readonly notify = inject(Notify);
  readonly columns = ['name', 'scopes', 'status', 'used', 'actions'];
  readonly loading = signal(true);
  readonly error = signal<UiError | null>(null);
  readonly items = signal<ServiceAccount[]>([]);

  ngOnInit(): void {
    this.load();
  }

  load(): void {
    this.api.serviceAccounts().subscribe({
      next: (res) => { this.items.set(itemsOf(res)); this.error.set(null); this.loading.set(false); },
      error: (err: unknown) => { this.error.set(toUiError(err)); this.loading.set(false); },
    });
  }

  async create(): Promise<void> {
    const res = await firstValueFrom(this.dialog.open(ServiceAccountDialog, { data: null, width: '560px' }).afterClosed());
    if (!res) return;
    const { name, scopes } = res as { name: string; scopes: string[] };
    await this.showSecret(this.api.createServiceAccount(name, scopes));
  }

  async rotate(a: ServiceAccount): Promise<void> {
    const ok = await firstValueFrom(confirmAction(this.dialog, {
      title: 'Rotate secret', message: `Issue a new secret for ${a.name}? The current secret stops working.`, confirmLabel: 'Rotate',
    }));
    if (ok) await this.showSecret(this.api.rotateSecret(a.id), a);
  }

  async editScopes(a: ServiceAccount): Promise<void> {
    const res = await firstValueFrom(this.dialog.open(ServiceAccountDialog, { data: a, width: '560px' }).afterClosed());
    if (res) await this.apply(this.api.updateServiceAccount(a.id, { scopes: (res as { scopes: string[] }).scopes }), 'Scopes saved.');
  }

  async setStatus(a: ServiceAccount, status: 'ACTIVE' | 'SUSPENDED'): Promise<void> {
    if (status === 'SUSPENDED') {
      const ok = await firstValueFrom(confirmAction(this.dialog, {
        title: 'Suspend', message: `Suspend ${a.name}? It can no longer obtain tokens.`, confirmLabel: 'Suspend', danger: true,
      }));
      if (!ok) return;
    }
    await this.apply(this.api.updateServiceAccount(a.id, { status }), `${a.name} is now ${status}.`);
  }

  async remove(a: ServiceAccount): Promise<void> {
    const ok = await firstValueFrom(confirmAction(this.dialog, {
      title: 'Delete service account', message: `Delete ${a.name} (${a.client_id})?`, confirmLabel: 'Delete', danger: true,
    }));
    if (ok) await this.apply(this.api.deleteServiceAccount(a.id), `${a.name} deleted.`);
  }

  private async showSecret(call: Observable<ServiceAccountWithSecret>, known?: ServiceAccount): Promise<void> {
    try {
      const res = await firstValueFrom(call);
      this.dialog.open(SecretDialog, { data: { ...known, ...res }, width: '560px', disableClose: true });
      this.load();
    } catch (err) {
      this.notify.error(err);
    }
  }

  private async apply(call: Observable<unknown>, message: string): Promise<void> {
    try {
      await firstValueFrom(call, { defaultValue: undefined });
      this.notify.ok(message);
      this.load();
    } catch (err) {
      this.notify.error(err);
    }
  }
}
