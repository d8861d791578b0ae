/**
 * API types of the ArtStore services, hand-written from API.md (the v1 contract).
 * `npm run gen:api` writes the generated OpenAPI types next to this file
 * (admin.d.ts, ingester.d.ts, query.d.ts) once the services serve /openapi.json.
 * Fields the contract leaves open are optional here and read defensively.
 */

export type Role = 'ADMIN' | 'OPERATOR' | 'USER';
export type UserStatus = 'ACTIVE' | 'INACTIVE' | 'LOCKED' | 'DELETED';
export type UserSource = 'LOCAL' | 'LDAP';
export type SeMode = 'edit' | 'rw' | 'ro' | 'ar';
export type RetentionPolicy = 'temporary' | 'permanent';
export type CopyState = 'committed' | 'pending' | 'archived' | 'corrupt';
export type FileStatus = 'available' | 'archived' | 'corrupt';

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
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

export interface User {
  id: string;
  username: string;
  email?: string | null;
  full_name?: string | null;
  role: Role;
  status: UserStatus;
  source: UserSource;
  ldap_dn?: string | null;
  last_sync_at?: string | null;
  locked_until?: string | null;
  last_login_at?: string | null;
  created_at?: string;
  updated_at?: string;
}

export interface UserCreate {
  username: string;
  password: string;
  role: Role;
  email?: string;
  full_name?: string;
}

export type UserPatch = Partial<Pick<User, 'role' | 'status' | 'email' | 'full_name'>>;

export interface LdapSyncResult {
  created: number;
  updated: number;
  deactivated: number;
  unchanged?: number;
  errors?: string[];
  trigger?: string | null;
  started_at?: string | null;
  finished_at?: string | null;
}

export interface LdapStatus {
  enabled: boolean;
  urls?: string[];
  sync_interval_seconds?: number;
  connection: { state: 'up' | 'down' | 'disabled'; server?: string | null; error?: string | null; checked_at?: string | null };
  last_sync?: (Omit<LdapSyncResult, 'started_at' | 'finished_at'> & { at: string; outcome: string }) | null;
  last_successful_sync_at?: string | null;
}

export interface ServiceAccount {
  id: string;
  client_id: string;
  name: string;
  scopes: string[];
  status: 'ACTIVE' | 'SUSPENDED' | 'DELETED';
  fleet?: boolean;
  secret_expires_at?: string | null;
  secret_rotated_at?: string | null;
  last_used_at?: string | null;
  created_at?: string;
  client_secret?: string;
}

export interface SigningKey {
  kid: string;
  created_at?: string;
  created?: string;
  state: 'active' | 'retiring' | 'retired';
  algorithm?: string;
  retired_at?: string | null;
  verify_until?: string | null;
}

export interface Capacity {
  total: number;
  used: number;
  free: number;
  reserved?: number;
}

export interface StorageElement {
  id: string;
  name: string;
  url: string;
  mode: SeMode;
  status: string;
  priority: number;
  capacity?: Capacity | null;
  file_count?: number;
  allowed_operations?: string[];
  backend?: string;
  version?: string;
  last_seen_at?: string | null;
  status_reason?: string | null;
  registered_at?: string;
  updated_at?: string;
}

export interface MaintenanceJob {
  state: 'running' | 'done' | 'failed';
  progress?: number | Record<string, unknown> | null;
  report?: unknown;
}

export interface FleetInstance {
  kind: string;
  instance_id: string;
  url: string;
  version?: string;
  started_at?: string;
  last_seen_at?: string;
  /** `up` or `stale` (no heartbeat for a while). */
  status: string;
}

/** `GET /api/v1/fleet`: service instances by heartbeat, and every registered SE. */
export interface FleetView {
  items: FleetInstance[];
  storage_elements?: StorageElement[];
}

export interface AuditEvent {
  id: string;
  seq?: number;
  occurred_at: string;
  recorded_at?: string;
  service?: string;
  actor?: { id?: string | null; username?: string | null; kind?: string | null } | null;
  action: string;
  target?: string | null;
  outcome: string;
  client_ip?: string | null;
  request_id?: string | null;
  details?: Record<string, unknown>;
}

export interface AuditVerify {
  ok: boolean;
  checked: number;
  first_bad: string | null;
  first_bad_seq?: number | null;
  reason?: string | null;
}

export interface FileOwner {
  id: string;
  username: string;
  kind: string;
}

export interface FileCopy {
  storage_element_id: string;
  mode: SeMode;
  state: CopyState;
}

export interface FileRecord {
  file_id: string;
  original_filename: string;
  size: number;
  content_type: string;
  sha256: string;
  owner: FileOwner;
  description: string | null;
  tags: string[];
  metadata: Record<string, unknown>;
  retention_policy: RetentionPolicy;
  expires_at: string | null;
  retain_until: string | null;
  legal_hold: boolean;
  revision: number;
  created_at: string;
  updated_at: string;
  storage_element_id: string;
  copies: FileCopy[];
  status: FileStatus;
  score?: number;
}

export interface FilePatch {
  description?: string | null;
  tags?: string[];
  metadata?: Record<string, unknown>;
  legal_hold?: boolean;
}

export interface FacetBucket {
  value: string;
  count: number;
}

export interface SearchResponse {
  items: FileRecord[];
  next_cursor: string | null;
  total: number;
  total_is_estimate?: boolean;
  facets?: Record<string, FacetBucket[] | Record<string, number>>;
}

export interface SagaAccepted {
  saga_id: string;
}

export type SagaState = 'pending' | 'running' | 'completed' | 'failed' | 'compensated';

/** A step as the ingester records it: `{name, state: running|done|failed, at, detail?}`. */
export type SagaStep = Record<string, unknown>;

export interface Saga {
  id: string;
  kind: string;
  /** One of SagaState; typed as the service declares it. */
  state: SagaState | string;
  steps: SagaStep[];
  error?: string | null;
}

export interface DownloadLink {
  url: string;
  expires_at: string;
}

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
