import { DatePipe, JsonPipe } from '@angular/common';
import { Component, OnInit, inject, signal } from '@angular/core';
import { FormsModule } from '@angular/forms';
import { MatButtonModule } from '@angular/material/button';
import { MatFormFieldModule } from '@angular/material/form-field';
import { MatIconModule } from '@angular/material/icon';
import { MatInputModule } from '@angular/material/input';
import { MatSelectModule } from '@angular/material/select';
import { MatTableModule } from '@angular/material/table';

import { AdminApi } from '../../api/admin.api';
import { UiError, toUiError } from '../../api/problem';
import { AuditEvent, AuditVerify } from '../../api/types';
import { PageState } from '../../shared/page-state';
import { CursorTrail, dateBound } from '../files/search-query';

/**
 * The outcomes the services record (`outcome=` in their audit calls): `success` (the default),
 * `failure`, and `ignored` (a password reset asked for a login that has no local account).
 */
export const AUDIT_OUTCOMES = ['success', 'failure', 'ignored'] as const;

@Component({
  selector: 'app-audit',
  imports: [DatePipe, JsonPipe, FormsModule, PageState, MatTableModule, MatButtonModule, MatIconModule,
    MatFormFieldModule, MatInputModule, MatSelectModule],
  templateUrl: './audit-page.html',
})
export class AuditPage implements OnInit {
  private readonly api = inject(AdminApi);
  private readonly trail = new CursorTrail();
  readonly columns = ['occurred_at', 'actor', 'action', 'target', 'outcome', 'service'];
  readonly outcomes = AUDIT_OUTCOMES;
  filters = { actor: '', action: '', outcome: '', since: '', until: '' };

  readonly loading = signal(true);
  readonly error = signal<UiError | null>(null);
  readonly events = signal<AuditEvent[]>([]);
  readonly next = signal<string | null>(null);
  readonly page = signal(0);
  readonly expanded = signal<string | null>(null);
  readonly verifying = signal(false);
  readonly verify = signal<AuditVerify | null>(null);
  readonly verifyError = signal<UiError | null>(null);

  ngOnInit(): void {
    this.search();
  }

  search(): void {
    this.trail.reset();
    this.load();
  }

  load(): void {
    this.loading.set(true);
    const f = this.filters;
    this.api.auditEvents({
      actor: f.actor.trim(), action: f.action.trim(), outcome: f.outcome,
      since: dateBound(f.since, false), until: dateBound(f.until, true), limit: 50, cursor: this.trail.current,
    }).subscribe({
      next: (res) => {
        this.events.set(res.items ?? []);
        this.next.set(res.next_cursor ?? null);
        this.page.set(this.trail.pageIndex);
        this.error.set(null);
        this.loading.set(false);
      },
      error: (err: unknown) => { this.error.set(toUiError(err)); this.loading.set(false); },
    });
  }

  nextPage(): void {
    const c = this.next();
    if (c) { this.trail.next(c); this.load(); }
  }
  previousPage(): void {
    this.trail.previous();
    this.load();
  }

  toggle(e: AuditEvent): void {
    this.expanded.set(this.expanded() === e.id ? null : e.id);
  }

  runVerify(): void {
    this.verifying.set(true);
    this.verifyError.set(null);
    this.api.verifyAudit().subscribe({
      next: (v) => { this.verify.set(v); this.verifying.set(false); },
      error: (err: unknown) => { this.verifyError.set(toUiError(err)); this.verifying.set(false); },
    });
  }
}
