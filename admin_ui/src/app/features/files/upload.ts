import { HttpClient, HttpEventType, HttpHeaders } from '@angular/common/http';
import { Injectable, inject, signal } from '@angular/core';
import { firstValueFrom } from 'rxjs';
import * as tus from 'tus-js-client';

import { errorLine } from '../../api/problem';
import { FileRecord } from '../../api/types';
import { AuthService } from '../../core/auth.service';
import { APP_CONFIG } from '../../core/config';

export const MiB = 1024 * 1024;
export const DEFAULT_TUS_THRESHOLD = 16 * MiB;

export interface UploadOptions {
  description: string;
  tags: string[];
  metadata: Record<string, unknown>;
  retention_policy: 'temporary' | 'permanent';
  ttl_days?: number | null;
  retain_until?: string | null;
}

export type UploadMethod = 'multipart' | 'tus';
export type UploadStatus = 'queued' | 'uploading' | 'paused' | 'done' | 'error';

/** Small files go in one multipart POST; large ones through tus so that they can resume. */
export function planUpload(size: number, threshold = DEFAULT_TUS_THRESHOLD): UploadMethod {
  return size > threshold ? 'tus' : 'multipart';
}

/** Chunks of 8 to 64 MiB, about 100 per file: a lost connection costs at most one chunk. */
export function chunkSizeFor(size: number): number {
  const target = Math.ceil(size / 100);
  return Math.min(64 * MiB, Math.max(8 * MiB, Math.ceil(target / MiB) * MiB));
}

/** tus `Upload-Metadata` as the ingester reads it (tags comma-separated, metadata JSON). */
export function tusMetadata(file: { name: string; type: string }, opts: UploadOptions): Record<string, string> {
  const meta: Record<string, string> = {
    filename: file.name,
    content_type: file.type || 'application/octet-stream',
    retention_policy: opts.retention_policy,
  };
  if (opts.description.trim()) meta['description'] = opts.description.trim();
  if (opts.tags.length) meta['tags'] = opts.tags.join(',');
  if (Object.keys(opts.metadata).length) meta['metadata'] = JSON.stringify(opts.metadata);
  if (opts.retention_policy === 'temporary' && opts.ttl_days) meta['ttl_days'] = String(opts.ttl_days);
  if (opts.retention_policy === 'permanent' && opts.retain_until) meta['retain_until'] = opts.retain_until;
  return meta;
}

/** The multipart form of `POST /api/v1/files`: the fields first, the file part last (the ingester streams it). */
export function multipartBody(file: File, opts: UploadOptions): FormData {
  const form = new FormData();
  if (opts.description.trim()) form.append('description', opts.description.trim());
  for (const tag of opts.tags) form.append('tags', tag);
  if (Object.keys(opts.metadata).length) form.append('metadata', JSON.stringify(opts.metadata));
  form.append('retention_policy', opts.retention_policy);
  if (opts.retention_policy === 'temporary' && opts.ttl_days) form.append('ttl_days', String(opts.ttl_days));
  if (opts.retention_policy === 'permanent' && opts.retain_until) form.append('retain_until', opts.retain_until);
  form.append('file', file, file.name);
  return form;
}

export interface PreviousUpload {
  creationTime: string;
  uploadUrl: string | null;
}

/** Of the unfinished uploads of the same file, resume the most recent one that has a URL. */
export function pickResumable<T extends PreviousUpload>(previous: T[]): T | null {
  const usable = previous.filter((p) => !!p.uploadUrl);
  usable.sort((a, b) => Date.parse(b.creationTime) - Date.parse(a.creationTime));
  return usable[0] ?? null;
}

/** The subset of tus-js-client's Upload used here (so tests can drive it). */
export interface TusLike {
  start(): void;
  abort(shouldTerminate?: boolean): Promise<void>;
  findPreviousUploads(): Promise<tus.PreviousUpload[]>;
  resumeFromPreviousUpload(previous: tus.PreviousUpload): void;
}
export type TusFactory = (file: File, options: tus.UploadOptions) => TusLike;

export const defaultTusFactory: TusFactory = (file, options) => new tus.Upload(file, options);

/** One file on its way up: its progress and state as signals for the view. */
export class UploadTask {
  readonly loaded = signal(0);
  readonly status = signal<UploadStatus>('queued');
  readonly error = signal<string | null>(null);
  readonly fileId = signal<string | null>(null);
  readonly resumed = signal(false);
  tus: TusLike | null = null;

  constructor(
    readonly file: File,
    readonly method: UploadMethod,
  ) {}

  get name(): string {
    return this.file.name;
  }
  get size(): number {
    return this.file.size;
  }
  percent(): number {
    return this.size === 0 ? (this.status() === 'done' ? 100 : 0) : Math.round((this.loaded() / this.size) * 100);
  }
}

@Injectable({ providedIn: 'root' })
export class UploadService {
  private readonly http = inject(HttpClient);
  private readonly auth = inject(AuthService);
  private readonly config = inject(APP_CONFIG);
  tusFactory: TusFactory = defaultTusFactory;

  get filesUrl(): string {
    return `${this.config.ingesterUrl}/api/v1/files`;
  }
  get tusUrl(): string {
    return `${this.config.ingesterUrl}/api/v1/tus/`;
  }

  create(file: File): UploadTask {
    return new UploadTask(file, planUpload(file.size, this.config.tusThresholdBytes ?? DEFAULT_TUS_THRESHOLD));
  }

  /** Resolves when the file is committed; the task's signals follow the progress. */
  start(task: UploadTask, opts: UploadOptions): Promise<void> {
    task.status.set('uploading');
    task.error.set(null);
    return task.method === 'tus' ? this.startTus(task, opts) : this.startMultipart(task, opts);
  }

  pause(task: UploadTask): void {
    if (task.tus && task.status() === 'uploading') {
      void task.tus.abort(false);
      task.status.set('paused');
    }
  }

  resume(task: UploadTask): void {
    if (task.tus && (task.status() === 'paused' || task.status() === 'error')) {
      task.status.set('uploading');
      task.error.set(null);
      task.tus.start();
    }
  }

  private async startMultipart(task: UploadTask, opts: UploadOptions): Promise<void> {
    const events$ = this.http.post<FileRecord>(this.filesUrl, multipartBody(task.file, opts), {
      reportProgress: true,
      observe: 'events',
    });
    return new Promise<void>((resolve) => {
      events$.subscribe({
        next: (event) => {
          if (event.type === HttpEventType.UploadProgress) task.loaded.set(event.loaded);
          if (event.type === HttpEventType.Response && event.body) {
            task.loaded.set(task.size);
            task.fileId.set(event.body.file_id);
            task.status.set('done');
            resolve();
          }
        },
        error: (err: unknown) => {
          task.status.set('error');
          task.error.set(errorLine(err));
          resolve();
        },
      });
    });
  }

  private async bearer(): Promise<string | null> {
    if (!this.auth.accessTokenFresh() && this.auth.hasRefreshToken()) {
      try {
        return await firstValueFrom(this.auth.refresh());
      } catch {
        return null;
      }
    }
    return this.auth.accessToken();
  }

  private async startTus(task: UploadTask, opts: UploadOptions): Promise<void> {
    return new Promise<void>((resolve) => {
      const upload = this.tusFactory(task.file, {
        endpoint: this.tusUrl,
        chunkSize: chunkSizeFor(task.size),
        retryDelays: [0, 1000, 3000, 5000, 10000],
        metadata: tusMetadata(task.file, opts),
        storeFingerprintForResuming: true,
        removeFingerprintOnSuccess: true,
        onBeforeRequest: async (req) => {
          const token = await this.bearer();
          if (token) req.setHeader('Authorization', `Bearer ${token}`);
        },
        onProgress: (sent) => task.loaded.set(sent),
        onSuccess: (payload) => {
          task.loaded.set(task.size);
          task.fileId.set(payload?.lastResponse?.getHeader('ArtStore-File-Id') ?? null);
          task.status.set('done');
          resolve();
        },
        onError: (err) => {
          task.status.set('error');
          task.error.set(tusErrorLine(err));
          resolve();
        },
      });
      task.tus = upload;
      void upload.findPreviousUploads().then((previous) => {
        const resumable = pickResumable(previous);
        if (resumable) {
          upload.resumeFromPreviousUpload(resumable);
          task.resumed.set(true);
        }
        upload.start();
      });
    });
  }
}

/** tus errors carry the last response; show its problem+json detail when there is one. */
export function tusErrorLine(err: Error): string {
  const res = (err as tus.DetailedError).originalResponse;
  if (!res) return err.message;
  const status = res.getStatus();
  try {
    const body = JSON.parse(res.getBody()) as { detail?: string; title?: string; code?: string };
    const text = body.detail ?? body.title ?? `HTTP ${status}`;
    return body.code ? `${text} (${body.code})` : text;
  } catch {
    return `Upload failed (HTTP ${status})`;
  }
}

export const JSON_HEADERS = new HttpHeaders({ 'Content-Type': 'application/json' });
