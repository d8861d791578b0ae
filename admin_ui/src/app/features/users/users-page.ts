import { DatePipe, LowerCasePipe } from '@angular/common';
import { Component, OnInit, inject, signal } from '@angular/core';
import { FormsModule } from '@angular/forms';
import { MatButtonModule } from '@angular/material/button';
import { MatDialog } from '@angular/material/dialog';
import { MatFormFieldModule } from '@angular/material/form-field';
import { MatIconModule } from '@angular/material/icon';
import { MatInputModule } from '@angular/material/input';
import { MatSelectModule } from '@angular/material/select';
import { MatTableModule } from '@angular/material/table';
import { MatTooltipModule } from '@angular/material/tooltip';
import { firstValueFrom } from 'rxjs';

import { AdminApi } from '../../api/admin.api';
import { UiError, toUiError } from '../../api/problem';
import { LdapStatus, LdapSyncResult, User, UserCreate, UserPatch } from '../../api/types';
import { confirmAction } from '../../shared/confirm-dialog';
import { Notify } from '../../shared/notify.service';
import { PageState } from '../../shared/page-state';
import { CursorTrail } from '../files/search-query';
import { UserDialog } from './user-dialog';

@Component({
  selector: 'app-users',
  imports: [DatePipe, LowerCasePipe, FormsModule, PageState, MatTableModule, MatButtonModule, MatIconModule,
    MatFormFieldModule, MatInputModule, MatSelectModule, MatTooltipModule],
  templateUrl: './users-page.html',
})
export class UsersPage implements OnInit {
  private readonly api = inject(AdminApi);
  private readonly dialog = inject(MatDialog);
  private readonly notify = inject(Notify);
  private readonly trail = new CursorTrail();
  readonly columns = ['username', 'full_name', 'role', 'source', 'status', 'last_login_at', 'actions'];
  filters = { q: '', role: '', status: '', source: '' };

  readonly loading = signal(true);
  readonly error = signal<UiError | null>(null);
  readonly users = signal<User[]>([]);
  readonly total = signal<number | null>(null);
  readonly next = signal<string | null>(null);
  readonly page = signal(0);
  readonly ldap = signal<LdapStatus | null>(null);
  readonly ldapError = signal<UiError | null>(null);
  readonly syncing = signal(false);
  readonly syncResult = signal<LdapSyncResult | null>(null);

  ngOnInit(): void {
    this.search();
    this.loadLdap();
  }

  search(): void {
    this.trail.reset();
    this.load();
  }

  load(): void {
    this.loading.set(true);
    this.api.users({ ...this.filters, limit: 50, cursor: this.trail.current }).subscribe({
      next: (res) => {
        this.users.set(res.items ?? []);
        this.total.set(res.total ?? null);
        this.next.set(res.next_cursor ?? null);
        this.page.set(this.trail.pageIndex);
        this.error.set(null);
        this.loading.set(false);
      },
      error: (err: unknown) => {
        this.error.set(toUiError(err));
        this.loading.set(false);
      },
    });
  }

  nextPage(): void {
    const c = this.next();
    if (c) {
      this.trail.next(c);
      this.load();
    }
  }
  previousPage(): void {
    this.trail.previous();
    this.load();
  }

  loadLdap(): void {
    this.api.ldapStatus().subscribe({
      next: (s) => { this.ldap.set(s); this.ldapError.set(null); },
      error: (err: unknown) => this.ldapError.set(toUiError(err)),
    });
  }

  ldapConnected(): string {
    const state = this.ldap()?.connection?.state;
    return state === 'up' ? 'connected' : state === 'down' ? 'unreachable' : state === 'disabled' ? 'disabled' : 'unknown';
  }

  async syncNow(): Promise<void> {
    this.syncing.set(true);
    try {
      this.syncResult.set(await firstValueFrom(this.api.ldapSync()));
      this.loadLdap();
      this.load();
    } catch (err) {
      this.notify.error(err, 'Directory sync failed');
    } finally {
      this.syncing.set(false);
    }
  }

  async create(): Promise<void> {
    const body = await firstValueFrom(this.dialog.open(UserDialog, { data: null, width: '480px' }).afterClosed());
    if (!body) return;
    try {
      const user = await firstValueFrom(this.api.createUser(body as UserCreate));
      this.notify.ok(`User ${user.username} created.`);
      this.load();
    } catch (err) {
      this.notify.error(err, 'Could not create the user');
    }
  }

  async edit(user: User): Promise<void> {
    const patch = await firstValueFrom(this.dialog.open(UserDialog, { data: user, width: '480px' }).afterClosed());
    if (!patch) return;
    await this.apply(this.api.updateUser(user.id, patch as UserPatch), `User ${user.username} updated.`);
  }

  async unlock(user: User): Promise<void> {
    await this.apply(this.api.unlockUser(user.id), `User ${user.username} unlocked.`);
  }

  async remove(user: User): Promise<void> {
    const ok = await firstValueFrom(confirmAction(this.dialog, {
      title: 'Delete user', message: `Delete ${user.username}? The account can no longer sign in.`, confirmLabel: 'Delete', danger: true,
    }));
    if (ok) await this.apply(this.api.deleteUser(user.id), `User ${user.username} deleted.`);
  }

  private async apply(call: import('rxjs').Observable<unknown>, message: string): Promise<void> {
    try {
      await firstValueFrom(call, { defaultValue: undefined });
      this.notify.ok(message);
      this.load();
    } catch (err) {
      this.notify.error(err);
    }
  }
}
