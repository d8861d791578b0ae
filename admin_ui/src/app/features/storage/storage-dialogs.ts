import { JsonPipe } from '@angular/common';
import { Component, OnDestroy, OnInit, inject, signal } from '@angular/core';
import { FormsModule } from '@angular/forms';
import { MatButtonModule } from '@angular/material/button';
import { MAT_DIALOG_DATA, MatDialogModule } from '@angular/material/dialog';
import { MatFormFieldModule } from '@angular/material/form-field';
import { MatInputModule } from '@angular/material/input';
import { MatProgressBarModule } from '@angular/material/progress-bar';
import { Subscription } from 'rxjs';

import { AdminApi, MaintenanceKind } from '../../api/admin.api';
import { errorLine } from '../../api/problem';
import { MaintenanceJob, StorageElement } from '../../api/types';
import { pollUntil } from '../../shared/poll';

@Component({
  selector: 'app-register-se',
  imports: [MatDialogModule, MatButtonModule, MatFormFieldModule, MatInputModule, FormsModule],
  template: `
    <h2 mat-dialog-title>Register a storage element</h2>
    <mat-dialog-content class="dialog-form">
      <p class="muted">The admin module reads the element's <code>/api/v1/info</code> and adds it to the registry.</p>
      <mat-form-field class="full"><mat-label>Base URL</mat-label>
        <input matInput [(ngModel)]="url" name="url" placeholder="http://127.0.0.1:8012" /></mat-form-field>
    </mat-dialog-content>
    <mat-dialog-actions align="end">
      <button mat-button mat-dialog-close>Cancel</button>
      <button mat-flat-button [disabled]="!url.trim()" [mat-dialog-close]="url.trim()">Register</button>
    </mat-dialog-actions>
  `,
})
export class RegisterSeDialog {
  url = '';
}

/** A percentage from whatever a job reports: 0..1, 0..100, or `{done, total}`. */
export function jobPercent(progress: MaintenanceJob['progress']): number | null {
  if (progress === null || progress === undefined) return null;
  if (typeof progress === 'number') return Math.round(progress <= 1 ? progress * 100 : progress);
  const done = Number(progress['done'] ?? progress['checked'] ?? progress['processed']);
  const total = Number(progress['total']);
  return total > 0 && Number.isFinite(done) ? Math.round((done / total) * 100) : null;
}

/** Counters a job reports without a total (`{sidecars: 120}`), as "sidecars 120". */
export function progressText(progress: MaintenanceJob['progress']): string {
  if (!progress || typeof progress !== 'object') return '';
  return Object.entries(progress).map(([k, v]) => `${k.replace(/_/g, ' ')} ${String(v)}`).join(', ');
}

export interface JobData {
  se: StorageElement;
  kind: MaintenanceKind;
  jobId: string;
}

/** Follows one maintenance job until it is done or failed and shows its report. */
@Component({
  selector: 'app-job-dialog',
  imports: [MatDialogModule, MatButtonModule, MatProgressBarModule, JsonPipe],
  template: `
    <h2 mat-dialog-title>{{ data.kind }} on {{ data.se.name || data.se.id }}</h2>
    <mat-dialog-content>
      <div class="muted small">Job <code>{{ data.jobId }}</code></div>
      @if (error()) { <div class="state-box error">{{ error() }}</div> }
      @if (job(); as j) {
        <p>State: <span class="badge {{ j.state }}" data-testid="job-state">{{ j.state }}</span>
          @if (percent() !== null) { · {{ percent() }} % } @else if (counters()) { · {{ counters() }} }</p>
        <mat-progress-bar [mode]="j.state === 'running' && percent() === null ? 'indeterminate' : 'determinate'"
                          [value]="j.state === 'running' ? (percent() ?? 0) : 100" />
        @if (j.report) { <h3 class="section" style="margin-top:12px">Report</h3><pre class="report">{{ j.report | json }}</pre> }
      } @else if (!error()) { <mat-progress-bar mode="indeterminate" /> }
    </mat-dialog-content>
    <mat-dialog-actions align="end"><button mat-button mat-dialog-close>Close</button></mat-dialog-actions>
  `,
})
export class JobDialog implements OnInit, OnDestroy {
  readonly data = inject<JobData>(MAT_DIALOG_DATA);
  private readonly api = inject(AdminApi);
  private sub?: Subscription;
  readonly job = signal<MaintenanceJob | null>(null);
  readonly error = signal('');
  readonly percent = signal<number | null>(null);
  readonly counters = signal('');

  ngOnInit(): void {
    this.sub = pollUntil(() => this.api.maintenanceJob(this.data.se.id, this.data.jobId), (j) => j.state !== 'running', 1500)
      .subscribe({
        next: (j) => {
          this.job.set(j);
          this.percent.set(jobPercent(j.progress));
          this.counters.set(progressText(j.progress));
        },
        error: (err: unknown) => this.error.set(errorLine(err)),
      });
  }

  ngOnDestroy(): void {
    this.sub?.unsubscribe();
  }
}
