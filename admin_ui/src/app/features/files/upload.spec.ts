import { HttpEventType, provideHttpClient } from '@angular/common/http';
import { HttpTestingController, provideHttpClientTesting } from '@angular/common/http/testing';
import { TestBed } from '@angular/core/testing';
import type * as tus from 'tus-js-client';

import { APP_CONFIG } from '../../core/config';
import {
  MiB, TusLike, UploadOptions, UploadService, chunkSizeFor, multipartBody, pickResumable, planUpload, tusErrorLine, tusMetadata,
} from './upload';

const OPTS: UploadOptions = {
  description: ' Quarterly figures ', tags: ['finance', 'q3'], metadata: { project: 'alpha' },
  retention_policy: 'temporary', ttl_days: 7, retain_until: null,
};

describe('upload planning', () => {
  it('uses tus above the threshold', () => {
    expect(planUpload(1000)).toBe('multipart');
    expect(planUpload(16 * MiB)).toBe('multipart');
    expect(planUpload(16 * MiB + 1)).toBe('tus');
    expect(planUpload(10, 5)).toBe('tus');
  });

  it('chunks between 8 and 64 MiB, about a hundred per file', () => {
    expect(chunkSizeFor(20 * MiB)).toBe(8 * MiB);
    expect(chunkSizeFor(2000 * MiB)).toBe(20 * MiB);
    expect(chunkSizeFor(100_000 * MiB)).toBe(64 * MiB);
  });

  it('writes tus metadata the way the ingester reads it', () => {
    expect(tusMetadata({ name: 'a b.pdf', type: 'application/pdf' }, OPTS)).toEqual({
      filename: 'a b.pdf', content_type: 'application/pdf', retention_policy: 'temporary',
      description: 'Quarterly figures', tags: 'finance,q3', metadata: '{"project":"alpha"}', ttl_days: '7',
    });
    const permanent = tusMetadata({ name: 'x', type: '' }, {
      ...OPTS, description: '', tags: [], metadata: {}, retention_policy: 'permanent', retain_until: '2030-01-01T00:00:00Z',
    });
    expect(permanent).toEqual({
      filename: 'x', content_type: 'application/octet-stream', retention_policy: 'permanent', retain_until: '2030-01-01T00:00:00Z',
    });
  });

  it('builds the multipart form with repeated tags', () => {
    const form = multipartBody(new File(['hello'], 'h.txt', { type: 'text/plain' }), OPTS);
    expect((form.get('file') as File).name).toBe('h.txt');
    expect(form.getAll('tags')).toEqual(['finance', 'q3']);
    expect(form.get('metadata')).toBe('{"project":"alpha"}');
    expect(form.get('ttl_days')).toBe('7');
    expect(form.get('retain_until')).toBeNull();
    expect([...form.keys()].at(-1)).toBe('file');
  });

  it('resumes the most recent unfinished upload that has a URL', () => {
    const prev = [
      { creationTime: '2026-11-25T10:00:00Z', uploadUrl: 'u-old' },
      { creationTime: '2026-11-26T10:00:00Z', uploadUrl: null },
      { creationTime: '2026-11-26T09:00:00Z', uploadUrl: 'u-new' },
    ];
    expect(pickResumable(prev)?.uploadUrl).toBe('u-new');
    expect(pickResumable([])).toBeNull();
  });

  it('reads the problem detail from a failed tus response', () => {
    const err = Object.assign(new Error('tus: unexpected response'), {
      originalResponse: { getStatus: () => 507, getBody: () => '{"detail":"No space","code":"insufficient_storage"}' },
    });
    expect(tusErrorLine(err)).toBe('No space (insufficient_storage)');
    expect(tusErrorLine(new Error('network down'))).toBe('network down');
  });
});

/** A stand-in for tus-js-client's Upload, driven by the test. */
class FakeTus implements TusLike {
  started = 0;
  aborted = 0;
  resumedFrom: tus.PreviousUpload | null = null;
  constructor(readonly options: tus.UploadOptions, readonly previous: tus.PreviousUpload[]) {}
  start(): void { this.started++; }
  abort(): Promise<void> { this.aborted++; return Promise.resolve(); }
  findPreviousUploads(): Promise<tus.PreviousUpload[]> { return Promise.resolve(this.previous); }
  resumeFromPreviousUpload(p: tus.PreviousUpload): void { this.resumedFrom = p; }
}

describe('UploadService', () => {
  let service: UploadService;
  let ctl: HttpTestingController;

  beforeEach(() => {
    TestBed.configureTestingModule({
      providers: [provideHttpClient(), provideHttpClientTesting(),
        { provide: APP_CONFIG, useValue: { adminUrl: 'http://a', ingesterUrl: 'http://i', queryUrl: 'http://q', tusThresholdBytes: 4 } }],
    });
    service = TestBed.inject(UploadService);
    ctl = TestBed.inject(HttpTestingController);
  });

  it('posts small files as multipart and follows the progress', async () => {
    const task = service.create(new File(['abc'], 'a.txt', { type: 'text/plain' }));
    expect(task.method).toBe('multipart');
    const done = service.start(task, OPTS);
    const req = ctl.expectOne('http://i/api/v1/files');
    expect(req.request.method).toBe('POST');
    expect(req.request.body).toBeInstanceOf(FormData);
    req.event({ type: HttpEventType.UploadProgress, loaded: 2, total: 3 });
    expect(task.percent()).toBe(67);
    req.flush({ file_id: 'f-1' });
    await done;
    expect(task.status()).toBe('done');
    expect(task.fileId()).toBe('f-1');
    expect(task.percent()).toBe(100);
  });

  it('reports a refused multipart upload', async () => {
    const task = service.create(new File(['abc'], 'a.txt'));
    const done = service.start(task, OPTS);
    ctl.expectOne('http://i/api/v1/files').flush(
      { title: 'Service Unavailable', detail: 'No storage element can take the file', code: 'no_storage_available' },
      { status: 503, statusText: 'Service Unavailable' });
    await done;
    expect(task.status()).toBe('error');
    expect(task.error()).toContain('no_storage_available');
  });

  it('sends large files through tus, resuming a previous upload, and reads the file id', async () => {
    let fake: FakeTus | null = null;
    const previous = [{ creationTime: '2026-11-26T09:00:00Z', uploadUrl: 'http://i/api/v1/tus/abc' } as tus.PreviousUpload];
    service.tusFactory = (_file, options) => (fake = new FakeTus(options, previous));
    const task = service.create(new File(['0123456789'], 'big.bin'));
    expect(task.method).toBe('tus');
    const done = service.start(task, OPTS);
    await Promise.resolve();
    await Promise.resolve();
    const tusUpload = fake as unknown as FakeTus;
    expect(tusUpload.options.endpoint).toBe('http://i/api/v1/tus/');
    expect(tusUpload.options.metadata?.['tags']).toBe('finance,q3');
    expect(tusUpload.resumedFrom?.uploadUrl).toBe('http://i/api/v1/tus/abc');
    expect(task.resumed()).toBe(true);
    expect(tusUpload.started).toBe(1);

    tusUpload.options.onProgress?.(4, 10);
    expect(task.percent()).toBe(40);
    service.pause(task);
    expect(task.status()).toBe('paused');
    expect(tusUpload.aborted).toBe(1);
    service.resume(task);
    expect(task.status()).toBe('uploading');
    expect(tusUpload.started).toBe(2);

    const lastResponse = { getHeader: (h: string) => (h === 'ArtStore-File-Id' ? 'f-big' : undefined) } as tus.HttpResponse;
    tusUpload.options.onSuccess?.({ lastResponse });
    await done;
    expect(task.status()).toBe('done');
    expect(task.fileId()).toBe('f-big');
  });
});
