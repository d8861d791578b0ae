import { DatePipe, LowerCasePipe } from '@angular/common';
import { Component, OnInit, inject, signal } from '@angular/core';
import { MatButtonModule } from '@angular/material/button';
import { MatDialog } from '@angular/material/dialog';
import { MatIconModule } from '@angular/material/icon';
import { MatMenuModule } from '@angular/material/menu';
import { MatTooltipModule } from '@angular/material/tooltip';
import { firstValueFrom } from 'rxjs';

import { AdminApi, MaintenanceKind, itemsOf } from '../../api/admin.api';
import { UiError, toUiError } from '../../api/problem';
import { StorageElement } from '../../api/types';
import { confirmAction } from '../../shared/confirm-dialog';
import { BytesPipe, percentUsed } from '../../shared/format';
import { Notify } from '../../shared/notify.service';
import { PageState } from '../../shared/page-state';
import { ModeTransition, transitionsFrom } from './modes';
import { JobDialog, RegisterSeDialog } from './storage-dialogs';

const JOB_TEXT: Record<MaintenanceKind, string> = {
  reindex: 'Rebuild the index from the sidecars. Reads keep working; the change feed restarts with a new epoch.',
  consistency: 'Compare sidecars with the index (dry run: nothing is changed).',
  scrub: 'Re-hash every stored file (throttled) and quarantine corrupt ones.',
};

@Component({
  selector: 'app-storage',
  imports: [DatePipe, LowerCasePipe, BytesPipe, PageState, MatButtonModule, MatIconModule, MatMenuModule, MatTooltipModule],
  templateUrl: './storage-page.html',
})
export class StoragePage implements OnInit {
  private readonly api = inject(AdminApi);
  private readonly dialog = inject(MatDialog);
  private readonly notify = inject(Notify);
  readonly loading = signal(true);
  readonly error = signal<UiError | null>(null);
  readonly items = signal<StorageElement[]>([]);
  readonly pct = percentUsed;
  readonly transitionsFrom = transitionsFrom;
  readonly jobs: MaintenanceKind[] = ['reindex', 'consistency', 'scrub'];

  ngOnInit(): void {
    this.load();
  }

  load(): void {
    this.loading.set(true);
    this.api.storageElements().subscribe({
      next: (res) => {
        this.items.set(itemsOf(res));
        this.error.set(null);
        this.loading.set(false);
      },
      error: (err: unknown) => {
        this.error.set(toUiError(err));
        this.loading.set(false);
      },
    });
  }

  async register(): Promise<void> {
    const url = await firstValueFrom(this.dialog.open(RegisterSeDialog, { width: '480px' }).afterClosed());
    if (!url) return;
    try {
      const se = await firstValueFrom(this.api.registerStorageElement(url as string));
      this.notify.ok(`Registered ${se.name || se.id}.`);
      this.load();
    } catch (err) {
      this.notify.error(err, 'Registration failed');
    }
  }

  async changeMode(se: StorageElement, t: ModeTransition): Promise<void> {
    const ok = await firstValueFrom(confirmAction(this.dialog, {
      title: `Switch ${se.name || se.id} to ${t.to}`,
      message: `${se.mode} → ${t.to}. ${t.warning}`,
      confirmLabel: `Switch to ${t.to}`,
      danger: t.to === 'ar' || t.needsConfirm,
      typeToConfirm: t.needsConfirm || t.to === 'ar' ? (se.name || se.id) : undefined,
    }));
    if (!ok) return;
    try {
      await firstValueFrom(this.api.setMode(se.id, t.to, t.needsConfirm));
      this.notify.ok(`${se.name || se.id} is now ${t.to}.`);
      this.load();
    } catch (err) {
      this.notify.error(err, 'Mode change refused');
    }
  }

  async runJob(se: StorageElement, kind: MaintenanceKind): Promise<void> {
    const ok = await firstValueFrom(confirmAction(this.dialog, {
      title: `Run ${kind} on ${se.name || se.id}`, message: JOB_TEXT[kind], confirmLabel: `Start ${kind}`,
    }));
    if (!ok) return;
    try {
      const { job_id } = await firstValueFrom(this.api.startMaintenance(se.id, kind));
      this.dialog.open(JobDialog, { data: { se, kind, jobId: job_id }, width: '640px' });
    } catch (err) {
      this.notify.error(err, `Could not start ${kind}`);
    }
  }

  async remove(se: StorageElement): Promise<void> {
    const ok = await firstValueFrom(confirmAction(this.dialog, {
      title: 'Remove from registry', message: `Remove ${se.name || se.id}? Only an empty storage element can be removed.`,
      confirmLabel: 'Remove', danger: true,
    }));
    if (!ok) return;
    try {
      await firstValueFrom(this.api.removeStorageElement(se.id), { defaultValue: undefined });
      this.load();
    } catch (err) {
      this.notify.error(err, 'Could not remove');
    }
  }

  capacityClass(se: StorageElement): string {
    const p = percentUsed(se.capacity.used, se.capacity.total);
    return p >= 95 ? 'full' : p >= 80 ? 'high' : '';
  }
}
