import { HttpClient, HttpParams } from '@angular/common/http';
import { Injectable, inject } from '@angular/core';
import { Observable } from 'rxjs';

import { APP_CONFIG } from '../core/config';
import {
  AuditEvent, AuditVerify, FleetView, LdapStatus, LdapSyncResult, MaintenanceJob, Page,
  SeMode, ServiceAccount, SigningKey, StorageElement, User, UserCreate, UserPatch,
} from './types';

export type MaintenanceKind = 'reindex' | 'scrub' | 'consistency';

/** Drops empty values so that filters left blank are not sent. */
export function cleanParams(values: Record<string, string | number | boolean | null | undefined>): HttpParams {
  let params = new HttpParams();
  for (const [key, value] of Object.entries(values)) {
    if (value !== null && value !== undefined && value !== '') params = params.set(key, String(value));
  }
  return params;
}

@Injectable({ providedIn: 'root' })
export class AdminApi {
  private readonly http = inject(HttpClient);
  private readonly base = `${inject(APP_CONFIG).adminUrl}/api/v1`;

  me(): Observable<User> {
    return this.http.get<User>(`${this.base}/users/me`);
  }
  changeMyPassword(current_password: string, new_password: string): Observable<void> {
    return this.http.post<void>(`${this.base}/users/me/password`, { current_password, new_password });
  }
  requestPasswordReset(login: string): Observable<void> {
    return this.http.post<void>(`${this.base}/auth/password-reset`, { login });
  }
  confirmPasswordReset(token: string, new_password: string): Observable<void> {
    return this.http.post<void>(`${this.base}/auth/password-reset/confirm`, { token, new_password });
  }

  users(filters: { role?: string; status?: string; source?: string; q?: string; cursor?: string | null; limit?: number }): Observable<Page<User>> {
    return this.http.get<Page<User>>(`${this.base}/users`, { params: cleanParams(filters) });
  }
  createUser(body: UserCreate): Observable<User> {
    return this.http.post<User>(`${this.base}/users`, body);
  }
  updateUser(id: string, patch: UserPatch): Observable<User> {
    return this.http.patch<User>(`${this.base}/users/${encodeURIComponent(id)}`, patch);
  }
  deleteUser(id: string): Observable<void> {
    return this.http.delete<void>(`${this.base}/users/${encodeURIComponent(id)}`);
  }
  unlockUser(id: string): Observable<unknown> {
    return this.http.post(`${this.base}/users/${encodeURIComponent(id)}/unlock`, {});
  }
  ldapStatus(): Observable<LdapStatus> {
    return this.http.get<LdapStatus>(`${this.base}/ldap/status`);
  }
  ldapSync(): Observable<LdapSyncResult> {
    return this.http.post<LdapSyncResult>(`${this.base}/ldap/sync`, {});
  }

  serviceAccounts(): Observable<Page<ServiceAccount> | ServiceAccount[]> {
    return this.http.get<Page<ServiceAccount> | ServiceAccount[]>(`${this.base}/service-accounts`);
  }
  createServiceAccount(name: string, scopes: string[]): Observable<ServiceAccount> {
    return this.http.post<ServiceAccount>(`${this.base}/service-accounts`, { name, scopes });
  }
  updateServiceAccount(id: string, patch: { scopes?: string[]; status?: string }): Observable<ServiceAccount> {
    return this.http.patch<ServiceAccount>(`${this.base}/service-accounts/${encodeURIComponent(id)}`, patch);
  }
  deleteServiceAccount(id: string): Observable<void> {
    return this.http.delete<void>(`${this.base}/service-accounts/${encodeURIComponent(id)}`);
  }
  rotateSecret(id: string): Observable<ServiceAccount> {
    return this.http.post<ServiceAccount>(`${this.base}/service-accounts/${encodeURIComponent(id)}/rotate-secret`, {});
  }

  keys(): Observable<Page<SigningKey> | SigningKey[]> {
    return this.http.get<Page<SigningKey> | SigningKey[]>(`${this.base}/keys`);
  }
  rotateKey(): Observable<unknown> {
    return this.http.post(`${this.base}/keys/rotate`, {});
  }

  storageElements(): Observable<Page<StorageElement> | StorageElement[]> {
    return this.http.get<Page<StorageElement> | StorageElement[]>(`${this.base}/storage-elements`);
  }
  storageElement(id: string): Observable<StorageElement> {
    return this.http.get<StorageElement>(`${this.base}/storage-elements/${encodeURIComponent(id)}`);
  }
  registerStorageElement(url: string): Observable<StorageElement> {
    return this.http.post<StorageElement>(`${this.base}/storage-elements`, { url });
  }
  updateStorageElement(id: string, patch: { name?: string; priority?: number }): Observable<StorageElement> {
    return this.http.patch<StorageElement>(`${this.base}/storage-elements/${encodeURIComponent(id)}`, patch);
  }
  removeStorageElement(id: string): Observable<void> {
    return this.http.delete<void>(`${this.base}/storage-elements/${encodeURIComponent(id)}`);
  }
  setMode(id: string, mode: SeMode, confirm: boolean): Observable<unknown> {
    const body = confirm ? { mode, confirm: true } : { mode };
    return this.http.post(`${this.base}/storage-elements/${encodeURIComponent(id)}/mode`, body);
  }
  startMaintenance(id: string, kind: MaintenanceKind): Observable<{ job_id: string }> {
    return this.http.post<{ job_id: string }>(`${this.base}/storage-elements/${encodeURIComponent(id)}/maintenance/${kind}`, {});
  }
  maintenanceJob(id: string, jobId: string): Observable<MaintenanceJob> {
    return this.http.get<MaintenanceJob>(
      `${this.base}/storage-elements/${encodeURIComponent(id)}/maintenance/jobs/${encodeURIComponent(jobId)}`,
    );
  }

  fleet(): Observable<FleetView> {
    return this.http.get<FleetView>(`${this.base}/fleet`);
  }

  auditEvents(filters: { actor?: string; action?: string; outcome?: string; since?: string; until?: string; cursor?: string | null; limit?: number }): Observable<Page<AuditEvent>> {
    return this.http.get<Page<AuditEvent>>(`${this.base}/audit-events`, { params: cleanParams(filters) });
  }
  verifyAudit(): Observable<AuditVerify> {
    return this.http.get<AuditVerify>(`${this.base}/audit-events/verify`);
  }
}

/** Lists come as `{items}` pages by contract; accept a bare array too. */
export function itemsOf<T>(res: Page<T> | T[] | null | undefined): T[] {
  if (!res) return [];
  return Array.isArray(res) ? res : (res.items ?? []);
}
