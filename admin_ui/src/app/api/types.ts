/**
 * API types of the ArtStore services as the UI codes against them. Where a service's OpenAPI
 * document declares the schema, the type is that schema, taken from the generated types in
 * generated/admin.ts, generated/ingester.ts and generated/query.ts (`npm run gen:api` refreshes them),
 * so a change in a service breaks the UI's type check. `Narrowed` lets the UI rely on a union where a
 * service declares a plain string (an SE mode); the narrowed field must stay a subtype of the
 * service's. Hand-written below: what no OpenAPI document describes (the OAuth token endpoint,
 * problem+json, token claims, the SE maintenance job forwarded as-is, the free-form stats).
 */
import type { components as AdminSpec } from './generated/admin';
import type { components as IngesterSpec } from './generated/ingester';
import type { components as QuerySpec } from './generated/query';

type A = AdminSpec['schemas'];
type I = IngesterSpec['schemas'];
type Q = QuerySpec['schemas'];

/** `T` with the fields of `N` narrowed; each must be a field of `T` and a subtype of it, or this fails to compile. */
export type Narrowed<T, N extends { [K in keyof N]: K extends keyof T ? T[K] : never }> = {
  [K in keyof T]: K extends keyof N ? N[K] : T[K];
};

/** The SE modes of API.md; the services declare `mode` as a string. */
export type SeMode = 'edit' | 'rw' | 'ro' | 'ar';
export type Role = A['UserOut']['role'];
export type UserStatus = A['UserOut']['status'];
export type UserSource = A['UserOut']['source'];
export type RetentionPolicy = Q['FileRecord']['retention_policy'];
export type CopyState = Q['CopyInfo']['state'];
export type FileStatus = Q['FileRecord']['status'];

/** The shape every list endpoint answers with. */
export interface Page<T> {
  items: T[];
  next_cursor?: string | null;
  total?: number;
}

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token?: string;
  scope: string;
}

export interface OAuthError {
  error: string;
  error_description?: string;
}

export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: unknown;
  code?: string;
  request_id?: string;
  errors?: unknown;
}

export interface AccessClaims {
  sub: string;
  preferred_username?: string;
  kind?: 'user' | 'service';
  role?: Role;
  scope?: string;
  exp?: number;
  iat?: number;
}

export type User = A['UserOut'];
export type UserPage = A['UserPage'];
export type UserCreate = A['UserCreate'];
export type UserPatch = A['UserUpdate'];
export type LdapSyncResult = A['SyncReport'];
export type LdapStatus = A['LdapStatus'];

export type ServiceAccount = A['ServiceAccountOut'];
export type ServiceAccountPage = A['ServiceAccountPage'];
export type ServiceAccountPatch = A['ServiceAccountUpdate'];
/** Create and rotate answer with the secret, shown once. */
export type ServiceAccountWithSecret = A['ServiceAccountWithSecret'];

export type SigningKey = A['KeyOut'];
export type KeyList = A['KeyList'];

export type Capacity = A['Capacity'];
export type StorageElement = Narrowed<A['StorageElementOut'], { mode: SeMode }>;
export type StorageElementList = Narrowed<A['StorageElementList'], { items: StorageElement[] }>;
export type StorageElementPatch = A['StorageElementPatch'];

/** The SE's maintenance job, forwarded by the admin module as the SE answers it. */
export interface MaintenanceJob {
  state: 'running' | 'done' | 'failed';
  progress?: number | Record<string, unknown> | null;
  report?: unknown;
}

/** A service instance by heartbeat; `status` is `up` or `stale` (no heartbeat for a while). */
export type FleetInstance = A['InstanceOut'];
/** `GET /api/v1/fleet`: service instances by heartbeat, and every registered SE. */
export type FleetView = Narrowed<A['FleetView'], { storage_elements: StorageElement[] }>;

export type AuditEvent = A['EventOut'];
export type AuditEventPage = A['EventPage'];
export type AuditVerify = A['VerifyResult'];

export type FileOwner = Q['Owner'];
export type FileCopy = Narrowed<Q['CopyInfo'], { mode: SeMode }>;
/** `GET /files/{id}`; a search item is the same record with its `score`. */
export type FileRecord = Narrowed<Q['FileRecord'], { copies: FileCopy[] }> & { score?: number | null };
export type SearchItem = Narrowed<Q['SearchItem'], { copies: FileCopy[] }>;
export type FilePatch = I['FileUpdate'];
export type FacetBucket = Q['FacetValue'];
export type SearchResponse = Narrowed<Q['SearchPage'], { items: SearchItem[] }>;
export type Suggestions = Q['Suggestions'];

export type SagaAccepted = I['SagaAccepted'];
/** The saga states of the ingester (which declares `state` as a string). */
export type SagaState = 'pending' | 'running' | 'completed' | 'failed' | 'compensated';
/** A step as the ingester records it: `{name, state: running|done|failed, at, detail?}`. */
export type SagaStep = I['SagaView']['steps'][number];
export type Saga = I['SagaView'];

export type DownloadLink = Q['DownloadLink'];

export interface StatsBucket {
  files: number;
  bytes: number;
}

/** `GET /api/v1/stats`: groups are arrays of rows (`[{mode, files, bytes}]`); maps keyed by the group value are read too. */
export interface Stats {
  uploads_per_day?: unknown;
  totals?: { files: number; bytes: number };
  storage_elements?: unknown;
  modes?: unknown;
  retention_policies?: unknown;
  latest_uploads?: FileRecord[];
  latest?: FileRecord[];
}
