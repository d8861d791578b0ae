import { HttpClient, HttpParams } from '@angular/common/http';
import { Injectable, inject } from '@angular/core';
import { Observable } from 'rxjs';

import { APP_CONFIG } from '../core/config';
import {
  AuditEventPage, AuditVerify, FleetView, KeyList, LdapStatus, LdapSyncResult, MaintenanceJob, Page, SeMode,
  ServiceAccount, ServiceAccountPage, ServiceAccountPatch, ServiceAccountWithSecret, StorageElement, StorageElementList,
  StorageElementPatch, User, UserCreate,
  UserPage, UserPatch,
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

  users(filters: { role?: string; status?: string; source?: string; q?: string; cursor?: string | null; limit?: number }): Observable<UserPage> {
    return this.http.get<UserPage>(`${this.base}/users`, { params: cleanParams(filters) });
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

  serviceAccounts(): Observable<ServiceAccountPage> {
    return this.http.get<ServiceAccountPage>(`${this.base}/service-accounts`);
  }
  createServiceAccount(name: string, scopes: string[]): Observable<ServiceAccountWithSecret> {
    return this.http.post<ServiceAccountWithSecret>(`${this.base}/service-accounts`, { name, scopes });
  }
  updateServiceAccount(id: string, patch: ServiceAccountPatch): Observable<ServiceAccount> {
    return this.http.patch<ServiceAccount>(`${this.base}/service-accounts/${encodeURIComponent(id)}`, patch);
  }
  deleteServiceAccount(id: string): Observable<void> {
    return this.http.delete<void>(`${this.base}/service-accounts/${encodeURIComponent(id)}`);
  }
  rotateSecret(id: string): Observable<ServiceAccountWithSecret> {
    return this.http.post<ServiceAccountWithSecret>(`${this.base}/service-accounts/${encodeURIComponent(id)}/rotate-secret`, {});
  }

  keys(): Observable<KeyList> {
    return this.http.get<KeyList>(`${this.base}/keys`);
  }
  rotateKey(): Observable<unknown> {
    return this.http.post(`${this.base}/keys/rotate`, {});
  }

  storageElements(): Observable<StorageElementList> {
    return this.http.get<StorageElementList>(`${this.base}/storage-elements`);
  }
  storageElement(id: string): Observable<StorageElement> {
    return this.http.get<StorageElement>(`${this.base}/storage-elements/${encodeURIComponent(id)}`);
  }
  registerStorageElement(url: string): Observable<StorageElement> {
    return this.http.post<StorageElement>(`${this.base}/storage-elements`, { url });
  }
  updateStorageElement(id: string, patch: StorageElementPatch): Observable<StorageElement> {
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

  auditEvents(filters: { actor?: string; action?: string; outcome?: string; since?: string; until?: string; cursor?: string | null; limit?: number }): Observable<AuditEventPage> {
    return this.http.get<AuditEventPage>(`${this.base}/audit-events`, { params: cleanParams(filters) });
  }
  verifyAudit(): Observable<AuditVerify> {
    return this.http.get<AuditVerify>(`${this.base}/audit-events/verify`);
  }
}

/** The items of a list answer (`{items}` pages by contract; a bare array is read too). */
export function itemsOf<T>(res: Page<T> | T[] | null | undefined): T[] {
  if (!res) return [];
  return Array.isArray(res) ? res : (res.items ?? []);
}
