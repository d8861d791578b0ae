import { Component, inject, output, signal } from '@angular/core';
import { FormsModule } from '@angular/forms';
import { MatButtonModule } from '@angular/material/button';
import { MatExpansionModule } from '@angular/material/expansion';
import { MatFormFieldModule } from '@angular/material/form-field';
import { MatIconModule } from '@angular/material/icon';
import { MatInputModule } from '@angular/material/input';
import { MatProgressBarModule } from '@angular/material/progress-bar';
import { MatSelectModule } from '@angular/material/select';
import { MatTooltipModule } from '@angular/material/tooltip';

import { BytesPipe } from '../../shared/format';
import { parseMetadata, parseTags } from './file-dialogs';
import { UploadOptions, UploadService, UploadTask } from './upload';

@Component({
  selector: 'app-upload-panel',
  imports: [FormsModule, MatButtonModule, MatIconModule, MatProgressBarModule, MatFormFieldModule, MatInputModule,
    MatSelectModule, MatExpansionModule, MatTooltipModule, BytesPipe],
  templateUrl: './upload-panel.html',
})
export class UploadPanel {
  private readonly uploads = inject(UploadService);
  readonly uploaded = output<string>();
  readonly tasks = signal<UploadTask[]>([]);
  readonly dragging = signal(false);
  readonly optionsError = signal('');

  description = '';
  tags = '';
  metadata = '';
  retention: 'temporary' | 'permanent' = 'temporary';
  ttlDays: number | null = 30;
  retainUntil = '';

  onDragOver(event: DragEvent): void {
    event.preventDefault();
    this.dragging.set(true);
  }
  onDragLeave(): void {
    this.dragging.set(false);
  }
  onDrop(event: DragEvent): void {
    event.preventDefault();
    this.dragging.set(false);
    this.add(Array.from(event.dataTransfer?.files ?? []));
  }
  onPick(input: HTMLInputElement): void {
    this.add(Array.from(input.files ?? []));
    input.value = '';
  }

  options(): UploadOptions | null {
    const meta = parseMetadata(this.metadata);
    if (meta.error) {
      this.optionsError.set(meta.error);
      return null;
    }
    this.optionsError.set('');
    return {
      description: this.description,
      tags: parseTags(this.tags),
      metadata: meta.value ?? {},
      retention_policy: this.retention,
      ttl_days: this.retention === 'temporary' ? this.ttlDays : null,
      retain_until: this.retention === 'permanent' && this.retainUntil ? `${this.retainUntil}T00:00:00Z` : null,
    };
  }

  add(files: File[]): void {
    const opts = this.options();
    if (!opts || files.length === 0) return;
    for (const file of files) {
      const task = this.uploads.create(file);
      this.tasks.update((list) => [task, ...list]);
      void this.uploads.start(task, opts).then(() => {
        const id = task.fileId();
        if (task.status() === 'done') this.uploaded.emit(id ?? '');
      });
    }
  }

  pause(task: UploadTask): void {
    this.uploads.pause(task);
  }
  resume(task: UploadTask): void {
    this.uploads.resume(task);
  }
  clearDone(): void {
    this.tasks.update((list) => list.filter((t) => t.status() !== 'done'));
  }
}
