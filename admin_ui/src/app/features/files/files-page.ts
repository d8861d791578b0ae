import { DatePipe } from '@angular/common';
import { Component, OnInit, computed, inject, signal } from '@angular/core';
import { FormsModule } from '@angular/forms';
import { MatAutocompleteModule } from '@angular/material/autocomplete';
import { MatButtonModule } from '@angular/material/button';
import { MatDialog } from '@angular/material/dialog';
import { MatExpansionModule } from '@angular/material/expansion';
import { MatFormFieldModule } from '@angular/material/form-field';
import { MatIconModule } from '@angular/material/icon';
import { MatInputModule } from '@angular/material/input';
import { MatProgressBarModule } from '@angular/material/progress-bar';
import { MatSelectModule } from '@angular/material/select';
import { MatSortModule, Sort } from '@angular/material/sort';
import { MatTableModule } from '@angular/material/table';
import { MatTooltipModule } from '@angular/material/tooltip';
import {
  Subject, catchError, debounceTime, distinctUntilChanged, filter, firstValueFrom, map, of, switchMap, take, takeWhile, timer,
} from 'rxjs';

import { AdminApi, itemsOf } from '../../api/admin.api';
import { IngesterApi, QueryApi } from '../../api/files.api';
import { UiError, toUiError } from '../../api/problem';
import { FilePatch, FileRecord, StorageElement } from '../../api/types';
import { AuthService } from '../../core/auth.service';
import { hasRole } from '../../core/roles';
import { confirmAction } from '../../shared/confirm-dialog';
import { BytesPipe } from '../../shared/format';
import { Notify } from '../../shared/notify.service';
import { PageState } from '../../shared/page-state';
import { EditMetadataDialog, FinalizeDialog, TransferDialog, parseTags } from './file-dialogs';
import { FileAction, FileDetails } from './file-details';
import { SagaTracker, sagaProgress } from './sagas';
import { CursorTrail, Facet, SearchQuery, SortField, applyFacet, normalizeFacets } from './search-query';
import { UploadPanel } from './upload-panel';

@Component({
  selector: 'app-files',
  imports: [
    FormsModule, DatePipe, BytesPipe, PageState, FileDetails, UploadPanel, MatTableModule, MatSortModule,
    MatFormFieldModule, MatInputModule, MatSelectModule, MatButtonModule, MatIconModule, MatAutocompleteModule,
    MatExpansionModule, MatTooltipModule, MatProgressBarModule,
  ],
  templateUrl: './files-page.html',
})
export class FilesPage implements OnInit {
  private readonly query = inject(QueryApi);
  private readonly ingester = inject(IngesterApi);
  private readonly admin = inject(AdminApi);
  private readonly dialog = inject(MatDialog);
  private readonly notify = inject(Notify);
  readonly auth = inject(AuthService);
  readonly sagas = inject(SagaTracker);
  readonly sagaProgress = sagaProgress;

  readonly columns = ['original_filename', 'size', 'owner', 'retention', 'created_at', 'status'];
  readonly isOperator = computed(() => hasRole(this.auth.role(), 'OPERATOR'));
  /** With the details panel open, the table keeps its essential columns. */
  readonly visibleColumns = computed(() =>
    this.selected() ? ['original_filename', 'size', 'retention'] : this.columns);

  // The filter form (two-way bound) and the query last sent.
  form: SearchQuery = { q: '', tags: [], meta: [], retention_policy: '' };
  tagsText = '';
  metaText = '';
  sort: SortField = 'relevance';
  order: 'asc' | 'desc' = 'desc';
  private readonly trail = new CursorTrail();

  readonly loading = signal(false);
  readonly error = signal<UiError | null>(null);
  readonly results = signal<FileRecord[]>([]);
  readonly total = signal<number | null>(null);
  readonly estimate = signal(false);
  readonly nextCursor = signal<string | null>(null);
  readonly facets = signal<Facet[]>([]);
  readonly selected = signal<FileRecord | null>(null);
  readonly suggestions = signal<string[]>([]);
  readonly storageElements = signal<StorageElement[]>([]);
  readonly page = signal(0);
  private readonly typed = new Subject<string>();

  ngOnInit(): void {
    this.typed
      .pipe(
        debounceTime(200),
        map((t) => t.trim()),
        distinctUntilChanged(),
        filter((t) => t.length >= 2),
        switchMap((prefix) => this.query.suggest(prefix).pipe(catchError(() => of({ items: [] })))),
      )
      .subscribe((res) => this.suggestions.set(res.items.map((s) => s.value)));
    if (this.isOperator()) {
      this.admin.storageElements().subscribe({ next: (r) => this.storageElements.set(itemsOf(r)), error: () => undefined });
    }
    this.search();
  }

  onTyping(text: string): void {
    this.typed.next(text);
  }

  currentQuery(): SearchQuery {
    return {
      ...this.form,
      tags: parseTags(this.tagsText),
      meta: this.metaText.split(/[,;]/).map((p) => p.split('=')).filter((kv) => kv.length === 2 && kv[0].trim())
        .map(([key, value]) => ({ key: key.trim(), value: value.trim() })),
      sort: this.sort,
      order: this.order,
      limit: 25,
      cursor: this.trail.current,
      facets: true,
    };
  }

  search(): void {
    this.trail.reset();
    this.load();
  }

  reset(): void {
    this.form = { q: '', tags: [], meta: [], retention_policy: '' };
    this.tagsText = '';
    this.metaText = '';
    this.search();
  }

  load(): void {
    this.loading.set(true);
    this.error.set(null);
    this.query.search(this.currentQuery()).subscribe({
      next: (res) => {
        this.results.set(res.items ?? []);
        this.total.set(res.total ?? null);
        this.estimate.set(!!res.total_is_estimate);
        this.nextCursor.set(res.next_cursor ?? null);
        this.facets.set(normalizeFacets(res.facets));
        this.page.set(this.trail.pageIndex);
        this.loading.set(false);
      },
      error: (err: unknown) => {
        this.results.set([]);
        this.error.set(toUiError(err));
        this.loading.set(false);
      },
    });
  }

  nextPage(): void {
    const cursor = this.nextCursor();
    if (!cursor) return;
    this.trail.next(cursor);
    this.load();
  }
  previousPage(): void {
    this.trail.previous();
    this.load();
  }
  hasPrevious(): boolean {
    return this.page() > 0;
  }

  onSort(sort: Sort): void {
    const map: Record<string, SortField> = { original_filename: 'filename', size: 'size', created_at: 'created_at' };
    this.sort = sort.direction ? (map[sort.active] ?? 'relevance') : 'relevance';
    this.order = sort.direction || 'desc';
    this.search();
  }

  pickFacet(facet: string, value: string): void {
    const next = applyFacet(this.currentQuery(), facet, value);
    this.form = { ...this.form, ...next, cursor: null };
    this.tagsText = (next.tags ?? []).join(', ');
    this.metaText = (next.meta ?? []).map((m) => `${m.key}=${m.value}`).join(', ');
    this.search();
  }

  select(file: FileRecord): void {
    this.selected.set(file);
    // The list may be a search snapshot; the record endpoint has the latest revision.
    this.query.file(file.file_id).subscribe({ next: (fresh) => this.selected.set(fresh), error: () => undefined });
  }

  /** The catalog learns of a new file from the SE's change feed: retry until the record appears. */
  onUploaded(fileId: string): void {
    this.notify.ok('Upload complete.');
    if (!fileId) {
      setTimeout(() => this.load(), 1000);
      return;
    }
    timer(0, 1000)
      .pipe(take(15), switchMap(() => this.query.file(fileId).pipe(catchError(() => of(null)))), takeWhile((f) => !f, true))
      .subscribe({
        next: (f) => { if (f) this.selected.set(f); },
        complete: () => this.load(),
      });
  }

  async onAction(action: FileAction): Promise<void> {
    const file = this.selected();
    if (!file) return;
    try {
      switch (action) {
        case 'close': this.selected.set(null); break;
        case 'download': await this.download(file); break;
        case 'edit': await this.edit(file); break;
        case 'finalize': await this.finalize(file); break;
        case 'transfer': await this.transfer(file); break;
        case 'delete': await this.remove(file); break;
      }
    } catch (err) {
      this.notify.error(err, `Could not ${action}`);
    }
  }

  /** A signed link downloads without the Authorization header, so the browser streams it natively. */
  private async download(file: FileRecord): Promise<void> {
    const link = await firstValueFrom(this.query.downloadLink(file.file_id));
    const a = document.createElement('a');
    a.href = link.url;
    a.download = file.original_filename;
    a.rel = 'noopener';
    document.body.appendChild(a);
    a.click();
    a.remove();
  }

  private async edit(file: FileRecord): Promise<void> {
    const patch = await firstValueFrom(
      this.dialog.open<EditMetadataDialog, unknown, FilePatch>(EditMetadataDialog, {
        data: { file, canLegalHold: this.isOperator() }, width: '560px',
      }).afterClosed(),
    );
    if (!patch) return;
    const updated = await firstValueFrom(this.ingester.update(file.file_id, patch));
    this.selected.set(updated);
    this.results.update((list) => list.map((f) => (f.file_id === updated.file_id ? { ...f, ...updated } : f)));
    this.notify.ok('Metadata saved.');
  }

  private async finalize(file: FileRecord): Promise<void> {
    const res = await firstValueFrom(this.dialog.open(FinalizeDialog, { data: file, width: '520px' }).afterClosed());
    if (!res) return;
    const { saga_id } = await firstValueFrom(this.ingester.finalize(file.file_id, (res as { retainUntil: string | null }).retainUntil));
    this.sagas.track(saga_id, `Finalize ${file.original_filename}`, () => this.refreshSelected(file.file_id));
  }

  private async transfer(file: FileRecord): Promise<void> {
    const targets = this.storageElements().filter((se) => se.id !== file.storage_element_id);
    const target = await firstValueFrom(
      this.dialog.open(TransferDialog, { data: { file, targets }, width: '520px' }).afterClosed(),
    );
    if (!target) return;
    const { saga_id } = await firstValueFrom(this.ingester.transfer(file.file_id, target as string));
    this.sagas.track(saga_id, `Transfer ${file.original_filename} → ${target as string}`, () => this.refreshSelected(file.file_id));
  }

  private async remove(file: FileRecord): Promise<void> {
    const ok = await firstValueFrom(confirmAction(this.dialog, {
      title: 'Delete file',
      message: `Delete "${file.original_filename}" (${file.file_id})?\nEvery copy is removed. This cannot be undone.`,
      confirmLabel: 'Delete', danger: true,
    }));
    if (!ok) return;
    const { saga_id } = await firstValueFrom(this.ingester.remove(file.file_id));
    this.sagas.track(saga_id, `Delete ${file.original_filename}`, (saga) => {
      if (saga.state === 'completed') {
        this.selected.set(null);
        this.results.update((list) => list.filter((f) => f.file_id !== file.file_id));
      }
    });
  }

  /** After a saga the catalog follows the SEs' change feeds within seconds: re-read until the record moves. */
  private refreshSelected(id: string): void {
    const before = this.selected()?.file_id === id ? this.selected()?.updated_at : undefined;
    timer(0, 1000)
      .pipe(take(15), switchMap(() => this.query.file(id).pipe(catchError(() => of(null)))),
        takeWhile((f) => !f || f.updated_at === before, true))
      .subscribe({
        next: (f) => { if (f && this.selected()?.file_id === id) this.selected.set(f); },
        complete: () => this.load(),
      });
  }

  facetLabel(name: string): string {
    return ({ tag: 'Tags', tags: 'Tags', content_type: 'Type', owner: 'Owner', retention_policy: 'Retention',
      storage_element_id: 'Storage element', year: 'Year' } as Record<string, string>)[name] ?? name;
  }
}
