import { HttpClient } from '@angular/common/http';
import { Injectable, inject } from '@angular/core';
import { Observable } from 'rxjs';

import { APP_CONFIG } from '../core/config';
import { buildSearchParams, SearchQuery } from '../features/files/search-query';
import { DownloadLink, FilePatch, FileRecord, Saga, SagaAccepted, SearchResponse, Stats, Suggestions } from './types';

/** Query module: search, records, downloads, stats. */
@Injectable({ providedIn: 'root' })
export class QueryApi {
  private readonly http = inject(HttpClient);
  private readonly base = `${inject(APP_CONFIG).queryUrl}/api/v1`;

  search(query: SearchQuery): Observable<SearchResponse> {
    return this.http.get<SearchResponse>(`${this.base}/search`, { params: buildSearchParams(query) });
  }
  suggest(prefix: string): Observable<Suggestions> {
    return this.http.get<Suggestions>(`${this.base}/search/suggest`, {
      params: { prefix },
    });
  }
  file(id: string): Observable<FileRecord> {
    return this.http.get<FileRecord>(`${this.base}/files/${encodeURIComponent(id)}`);
  }
  downloadLink(id: string): Observable<DownloadLink> {
    return this.http.post<DownloadLink>(`${this.base}/files/${encodeURIComponent(id)}/download-link`, {});
  }
  stats(): Observable<Stats> {
    return this.http.get<Stats>(`${this.base}/stats`);
  }
}

/** Ingester: metadata changes and sagas. Uploads go through UploadService. */
@Injectable({ providedIn: 'root' })
export class IngesterApi {
  private readonly http = inject(HttpClient);
  readonly base = `${inject(APP_CONFIG).ingesterUrl}/api/v1`;

  update(id: string, patch: FilePatch): Observable<FileRecord> {
    return this.http.patch<FileRecord>(`${this.base}/files/${encodeURIComponent(id)}`, patch);
  }
  finalize(id: string, retainUntil: string | null): Observable<SagaAccepted> {
    return this.http.post<SagaAccepted>(
      `${this.base}/files/${encodeURIComponent(id)}/finalize`,
      retainUntil ? { retain_until: retainUntil } : {},
    );
  }
  transfer(id: string, target: string): Observable<SagaAccepted> {
    return this.http.post<SagaAccepted>(`${this.base}/files/${encodeURIComponent(id)}/transfer`, {
      target_storage_element_id: target,
    });
  }
  remove(id: string): Observable<SagaAccepted> {
    return this.http.delete<SagaAccepted>(`${this.base}/files/${encodeURIComponent(id)}`);
  }
  saga(id: string): Observable<Saga> {
    return this.http.get<Saga>(`${this.base}/sagas/${encodeURIComponent(id)}`);
  }
}
