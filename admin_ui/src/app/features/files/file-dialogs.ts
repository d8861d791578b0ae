import { Component, inject } from '@angular/core';
import { FormsModule } from '@angular/forms';
import { MatButtonModule } from '@angular/material/button';
import { MatCheckboxModule } from '@angular/material/checkbox';
import { MAT_DIALOG_DATA, MatDialogModule, MatDialogRef } from '@angular/material/dialog';
import { MatFormFieldModule } from '@angular/material/form-field';
import { MatInputModule } from '@angular/material/input';
import { MatSelectModule } from '@angular/material/select';

import { FilePatch, FileRecord, StorageElement } from '../../api/types';

/** Tags typed as "a, b c" become ["a", "b", "c"], trimmed and without duplicates. */
export function parseTags(text: string): string[] {
  return [...new Set(text.split(/[,\s]+/).map((t) => t.trim()).filter(Boolean))];
}

/** Metadata as a JSON object; anything else is an error message. */
export function parseMetadata(text: string): { value?: Record<string, unknown>; error?: string } {
  if (!text.trim()) return { value: {} };
  try {
    const value = JSON.parse(text) as unknown;
    if (value && typeof value === 'object' && !Array.isArray(value)) return { value: value as Record<string, unknown> };
    return { error: 'Metadata must be a JSON object, e.g. {"project": "alpha"}.' };
  } catch (e) {
    return { error: `Invalid JSON: ${(e as Error).message}` };
  }
}

export interface EditData {
  file: FileRecord;
  canLegalHold: boolean;
}

@Component({
  selector: 'app-edit-metadata',
  imports: [MatDialogModule, MatButtonModule, MatFormFieldModule, MatInputModule, MatCheckboxModule, FormsModule],
  template: `
    <h2 mat-dialog-title>Edit metadata</h2>
    <mat-dialog-content class="dialog-form">
      <div class="muted small">{{ data.file.original_filename }}</div>
      <mat-form-field class="full"><mat-label>Description</mat-label>
        <textarea matInput rows="3" [(ngModel)]="description" name="description"></textarea></mat-form-field>
      <mat-form-field class="full"><mat-label>Tags (comma or space separated)</mat-label>
        <input matInput [(ngModel)]="tags" name="tags" /></mat-form-field>
      <mat-form-field class="full"><mat-label>Metadata (JSON object)</mat-label>
        <textarea matInput rows="5" class="mono" [(ngModel)]="metadata" name="metadata"></textarea>
        @if (metaError) { <mat-hint class="warn-text">{{ metaError }}</mat-hint> }</mat-form-field>
      @if (data.canLegalHold) {
        <mat-checkbox [(ngModel)]="legalHold" name="legal_hold">Legal hold (blocks deletion)</mat-checkbox>
      }
    </mat-dialog-content>
    <mat-dialog-actions align="end">
      <button mat-button mat-dialog-close>Cancel</button>
      <button mat-flat-button (click)="save()">Save</button>
    </mat-dialog-actions>
  `,
})
export class EditMetadataDialog {
  readonly data = inject<EditData>(MAT_DIALOG_DATA);
  private readonly ref = inject(MatDialogRef<EditMetadataDialog, FilePatch>);
  description = this.data.file.description ?? '';
  tags = (this.data.file.tags ?? []).join(', ');
  metadata = JSON.stringify(this.data.file.metadata ?? {}, null, 2);
  legalHold = this.data.file.legal_hold;
  metaError = '';

  save(): void {
    const meta = parseMetadata(this.metadata);
    if (meta.error) {
      this.metaError = meta.error;
      return;
    }
    const patch: FilePatch = { description: this.description, tags: parseTags(this.tags), metadata: meta.value };
    if (this.data.canLegalHold && this.legalHold !== this.data.file.legal_hold) patch.legal_hold = this.legalHold;
    this.ref.close(patch);
  }
}

@Component({
  selector: 'app-finalize-dialog',
  imports: [MatDialogModule, MatButtonModule, MatFormFieldModule, MatInputModule, FormsModule],
  template: `
    <h2 mat-dialog-title>Make permanent</h2>
    <mat-dialog-content class="dialog-form">
      <p>"{{ data.original_filename }}" becomes a permanent file: it is copied to a permanent storage element,
        verified, and only then removed from the temporary one. This cannot be undone.</p>
      <mat-form-field class="full"><mat-label>Retain until (empty = indefinitely)</mat-label>
        <input matInput type="date" [(ngModel)]="retainUntil" name="retain_until" /></mat-form-field>
    </mat-dialog-content>
    <mat-dialog-actions align="end">
      <button mat-button mat-dialog-close>Cancel</button>
      <button mat-flat-button [mat-dialog-close]="{ retainUntil: retainUntil ? retainUntil + 'T00:00:00Z' : null }">Finalize</button>
    </mat-dialog-actions>
  `,
})
export class FinalizeDialog {
  readonly data = inject<FileRecord>(MAT_DIALOG_DATA);
  retainUntil = '';
}

@Component({
  selector: 'app-transfer-dialog',
  imports: [MatDialogModule, MatButtonModule, MatFormFieldModule, MatSelectModule, FormsModule],
  template: `
    <h2 mat-dialog-title>Transfer to another storage element</h2>
    <mat-dialog-content class="dialog-form">
      <p>"{{ data.file.original_filename }}" is copied to the target, verified, then removed from {{ data.file.storage_element_id }}.</p>
      <mat-form-field class="full"><mat-label>Target storage element</mat-label>
        <mat-select [(ngModel)]="target" name="target">
          @for (se of data.targets; track se.id) {
            <mat-option [value]="se.id">{{ se.name || se.id }} ({{ se.mode }})</mat-option>
          }
        </mat-select></mat-form-field>
    </mat-dialog-content>
    <mat-dialog-actions align="end">
      <button mat-button mat-dialog-close>Cancel</button>
      <button mat-flat-button [disabled]="!target" [mat-dialog-close]="target">Transfer</button>
    </mat-dialog-actions>
  `,
})
export class TransferDialog {
  readonly data = inject<{ file: FileRecord; targets: StorageElement[] }>(MAT_DIALOG_DATA);
  target = '';
}
