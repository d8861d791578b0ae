import { DatePipe, JsonPipe } from '@angular/common';
import { Component, input, output } from '@angular/core';
import { MatButtonModule } from '@angular/material/button';
import { MatIconModule } from '@angular/material/icon';
import { MatTooltipModule } from '@angular/material/tooltip';

import { FileRecord } from '../../api/types';
import { BytesPipe } from '../../shared/format';

export type FileAction = 'download' | 'edit' | 'finalize' | 'transfer' | 'delete' | 'close';

/** Every field of the file record, its copies, and the actions the caller may take. */
@Component({
  selector: 'app-file-details',
  imports: [DatePipe, JsonPipe, BytesPipe, MatButtonModule, MatIconModule, MatTooltipModule],
  template: `
    @let f = file();
    <div class="details-head">
      <mat-icon>description</mat-icon>
      <strong class="details-title" data-testid="details-filename">{{ f.original_filename }}</strong>
      <button mat-icon-button (click)="action.emit('close')" aria-label="Close details"><mat-icon>close</mat-icon></button>
    </div>
    <div class="details-actions">
      <button mat-flat-button (click)="action.emit('download')" [disabled]="f.status !== 'available'" data-testid="download">
        <mat-icon>download</mat-icon> Download</button>
      <button mat-stroked-button (click)="action.emit('edit')"><mat-icon>edit</mat-icon> Edit</button>
      @if (f.retention_policy === 'temporary') {
        <button mat-stroked-button (click)="action.emit('finalize')"><mat-icon>verified</mat-icon> Make permanent</button>
      }
      @if (canTransfer()) {
        <button mat-stroked-button (click)="action.emit('transfer')"><mat-icon>swap_horiz</mat-icon> Transfer</button>
      }
      <button mat-stroked-button class="danger-outline" (click)="action.emit('delete')"
              [disabled]="f.legal_hold" [matTooltip]="f.legal_hold ? 'Under legal hold' : ''"><mat-icon>delete</mat-icon> Delete</button>
    </div>
    <dl class="fields">
      <dt>File id</dt><dd class="mono" data-testid="details-file-id">{{ f.file_id }}</dd>
      <dt>Status</dt><dd><span class="badge {{ f.status }}">{{ f.status }}</span></dd>
      <dt>Size</dt><dd>{{ f.size | bytes }} ({{ f.size }} bytes)</dd>
      <dt>Content type</dt><dd>{{ f.content_type }}</dd>
      <dt>SHA-256</dt><dd class="mono">{{ f.sha256 }}</dd>
      <dt>Owner</dt><dd>{{ f.owner.username }} <span class="muted small">({{ f.owner.kind }}, {{ f.owner.id }})</span></dd>
      <dt>Description</dt><dd>{{ f.description || '—' }}</dd>
      <dt>Tags</dt><dd>@for (t of f.tags; track t) { <span class="badge">{{ t }}</span> } @empty { — }</dd>
      <dt>Metadata</dt><dd>@if (hasMeta()) { <pre class="report">{{ f.metadata | json }}</pre> } @else { — }</dd>
      <dt>Retention</dt><dd><span class="badge {{ f.retention_policy }}" data-testid="details-retention">{{ f.retention_policy }}</span></dd>
      <dt>Expires at</dt><dd>{{ (f.expires_at | date: 'yyyy-MM-dd HH:mm') || '—' }}</dd>
      <dt>Retain until</dt><dd>{{ (f.retain_until | date: 'yyyy-MM-dd') || (f.retention_policy === 'permanent' ? 'indefinitely' : '—') }}</dd>
      <dt>Legal hold</dt><dd>{{ f.legal_hold ? 'yes' : 'no' }}</dd>
      <dt>Revision</dt><dd>{{ f.revision }}</dd>
      <dt>Created</dt><dd>{{ f.created_at | date: 'yyyy-MM-dd HH:mm:ss' }}</dd>
      <dt>Updated</dt><dd>{{ f.updated_at | date: 'yyyy-MM-dd HH:mm:ss' }}</dd>
      <dt>Served from</dt><dd class="mono">{{ f.storage_element_id }}</dd>
      @if (f.score !== undefined && f.score !== null) { <dt>Score</dt><dd>{{ f.score }}</dd> }
    </dl>
    <h3 class="section" style="margin-top:14px">Copies</h3>
    <table class="mini">
      <tr><th>Storage element</th><th>Mode</th><th>State</th></tr>
      @for (c of f.copies; track c.storage_element_id) {
        <tr><td class="mono">{{ c.storage_element_id }}</td><td><span class="badge mode-{{ c.mode }}">{{ c.mode }}</span></td>
          <td><span class="badge {{ c.state }}">{{ c.state }}</span></td></tr>
      } @empty { <tr><td colspan="3" class="muted">No copy listed.</td></tr> }
    </table>
  `,
})
export class FileDetails {
  readonly file = input.required<FileRecord>();
  readonly canTransfer = input(false);
  readonly action = output<FileAction>();

  hasMeta(): boolean {
    return Object.keys(this.file().metadata ?? {}).length > 0;
  }
}
