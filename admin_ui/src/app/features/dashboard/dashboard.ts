import { DatePipe, LowerCasePipe } from '@angular/common';
import { Component, OnDestroy, OnInit, computed, inject, signal } from '@angular/core';
import { MatButtonModule } from '@angular/material/button';
import { MatIconModule } from '@angular/material/icon';
import { MatTooltipModule } from '@angular/material/tooltip';
import { ChartConfiguration } from 'chart.js';
import { BaseChartDirective, provideCharts, withDefaultRegisterables } from 'ng2-charts';
import { Subscription, catchError, forkJoin, of, timer, switchMap, map } from 'rxjs';

import { AdminApi, itemsOf } from '../../api/admin.api';
import { QueryApi } from '../../api/files.api';
import { UiError, toUiError } from '../../api/problem';
import { FleetInstance, StorageElement } from '../../api/types';
import { BytesPipe, formatBytes, percentUsed } from '../../shared/format';
import { PageState } from '../../shared/page-state';
import { DashboardStats, GroupRow, normalizeStats } from './stats';

const PALETTE = ['#3b7ddd', '#7e57c2', '#26a69a', '#e0a100', '#d33c3c', '#5c6bc0', '#8d6e63'];

interface Loaded<T> {
  value: T | null;
  error: UiError | null;
}

function settle<T>(source: import('rxjs').Observable<T>) {
  return source.pipe(
    map((value): Loaded<T> => ({ value, error: null })),
    catchError((err: unknown) => of<Loaded<T>>({ value: null, error: toUiError(err) })),
  );
}

@Component({
  selector: 'app-dashboard',
  imports: [BaseChartDirective, BytesPipe, DatePipe, LowerCasePipe, PageState, MatIconModule, MatButtonModule, MatTooltipModule],
  templateUrl: './dashboard.html',
  providers: [provideCharts(withDefaultRegisterables())],
})
export class DashboardPage implements OnInit, OnDestroy {
  private readonly admin = inject(AdminApi);
  private readonly query = inject(QueryApi);
  private sub?: Subscription;

  readonly loading = signal(true);
  readonly ses = signal<StorageElement[]>([]);
  readonly seError = signal<UiError | null>(null);
  readonly stats = signal<DashboardStats | null>(null);
  readonly statsError = signal<UiError | null>(null);
  readonly fleet = signal<FleetInstance[]>([]);
  readonly fleetError = signal<UiError | null>(null);
  readonly updated = signal<Date | null>(null);

  readonly onlineSes = computed(() => this.ses().filter((s) => isOnline(s.status)).length);
  readonly onlineInstances = computed(() => this.fleet().filter((f) => isOnline(f.status)).length);
  readonly capacityTotal = computed(() => this.ses().reduce((s, se) => s + se.capacity.total, 0));
  readonly capacityUsed = computed(() => this.ses().reduce((s, se) => s + se.capacity.used, 0));

  readonly uploadsChart = computed<ChartConfiguration<'bar'>['data']>(() => {
    const rows = this.stats()?.uploadsPerDay ?? [];
    return {
      labels: rows.map((r) => r.day.slice(5)),
      datasets: [{ label: 'Uploads', data: rows.map((r) => r.files), backgroundColor: '#3b7ddd', borderRadius: 3 }],
    };
  });
  readonly modeChart = computed(() => doughnut(this.stats()?.byMode ?? [], 'bytes'));
  readonly retentionChart = computed(() => doughnut(this.stats()?.byRetention ?? [], 'bytes'));
  readonly barOptions: ChartConfiguration<'bar'>['options'] = {
    responsive: true, maintainAspectRatio: false, animation: false,
    plugins: { legend: { display: false } },
    scales: { y: { beginAtZero: true, ticks: { precision: 0 } }, x: { grid: { display: false } } },
  };
  readonly doughnutOptions: ChartConfiguration<'doughnut'>['options'] = {
    responsive: true, maintainAspectRatio: false, animation: false,
    plugins: {
      legend: { position: 'right' },
      tooltip: { callbacks: { label: (ctx) => `${ctx.label}: ${formatBytes(Number(ctx.raw))}` } },
    },
  };

  readonly pct = percentUsed;

  ngOnInit(): void {
    // Live figures: refreshed every 15 s while the page is open.
    this.sub = timer(0, 15000)
      .pipe(switchMap(() => forkJoin({
        ses: settle(this.admin.storageElements()),
        stats: settle(this.query.stats()),
        fleet: settle(this.admin.fleet()),
      })))
      .subscribe(({ ses, stats, fleet }) => {
        // The fleet view carries the registry too: use it when the registry list itself failed.
        this.ses.set(ses.value ? itemsOf(ses.value) : (fleet.value?.storage_elements ?? []));
        this.seError.set(ses.error);
        this.stats.set(stats.value ? normalizeStats(stats.value) : null);
        this.statsError.set(stats.error);
        this.fleet.set(fleet.value?.items ?? []);
        this.fleetError.set(fleet.error);
        this.updated.set(new Date());
        this.loading.set(false);
      });
  }

  ngOnDestroy(): void {
    this.sub?.unsubscribe();
  }

  refresh(): void {
    this.sub?.unsubscribe();
    this.loading.set(true);
    this.ngOnInit();
  }

  /** Files and bytes the catalog counts on this SE (from the stats). */
  filesOn(id: string): GroupRow | undefined {
    return this.stats()?.byStorageElement.find((r) => r.key === id);
  }

  capacityClass(se: StorageElement): string {
    const p = percentUsed(se.capacity.used, se.capacity.total);
    return p >= 95 ? 'full' : p >= 80 ? 'high' : '';
  }

  instanceId(f: FleetInstance): string {
    return f.instance_id || f.url;
  }
  lastSeen(f: FleetInstance): string | undefined {
    return f.last_seen_at;
  }
}

export function isOnline(status: string | undefined): boolean {
  return ['online', 'ok', 'up', 'healthy', 'active', 'ready'].includes((status ?? '').toLowerCase());
}

function doughnut(rows: GroupRow[], field: 'bytes' | 'files'): ChartConfiguration<'doughnut'>['data'] {
  return {
    labels: rows.map((r) => r.key),
    datasets: [{ data: rows.map((r) => r[field]), backgroundColor: rows.map((_, i) => PALETTE[i % PALETTE.length]) }],
  };
}
