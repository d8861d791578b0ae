// Fixture answers for the screenshot run: the API.md shapes, served by Playwright routing
// (the app itself has no demo mode). Ports 18000/18020/18030 never answer for real.
export const FIXTURE_CONFIG = {
  adminUrl: 'http://127.0.0.1:18000', ingesterUrl: 'http://127.0.0.1:18020', queryUrl: 'http://127.0.0.1:18030',
};

const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
export function fakeJwt(role, username) {
  const now = Math.floor(Date.now() / 1000);
  return `${b64({ alg: 'RS256', kid: 'k1' })}.${b64({ sub: 'u-1', preferred_username: username, kind: 'user', role, typ: 'access', scope: 'files:read', iat: now, exp: now + 1800 })}.c2ln`;
}

const day = (n) => new Date(Date.now() - n * 86400000).toISOString();
const GiB = 1024 ** 3;
const ses = [
  { id: 'se-edit-1', name: 'edit-1', url: 'http://127.0.0.1:8010', mode: 'edit', status: 'online', priority: 10, file_count: 412, backend: 'local', version: '0.1.0',
    capacity: { total: 200 * GiB, used: 61 * GiB, free: 139 * GiB, reserved: 1 * GiB }, allowed_operations: ['create', 'read', 'update', 'delete'] },
  { id: 'se-rw-1', name: 'rw-1', url: 'http://127.0.0.1:8011', mode: 'rw', status: 'online', priority: 20, file_count: 10233, backend: 's3', version: '0.1.0',
    capacity: { total: 1024 * GiB, used: 870 * GiB, free: 154 * GiB, reserved: 0 }, allowed_operations: ['create', 'read', 'update'] },
  { id: 'se-ro-1', name: 'ro-1', url: 'http://127.0.0.1:8012', mode: 'ro', status: 'offline', priority: 30, file_count: 50120, backend: 'local', version: '0.1.0',
    capacity: { total: 2048 * GiB, used: 2010 * GiB, free: 38 * GiB, reserved: 0 }, allowed_operations: ['read'] },
];
const owner = { id: 'u-7', username: 'alice', kind: 'user' };
const file = (i, name, type, size, desc, tags, policy) => ({
  file_id: `0193c8f2-${String(i).padStart(4, '0')}-7a41-9b8e-5d2c1f0e${String(i).padStart(4, '0')}`, original_filename: name, size, content_type: type,
  sha256: 'a3f1c9e2'.repeat(8), owner, description: desc, tags, metadata: i % 2 ? { project: 'alpha', department: 'finance' } : {},
  retention_policy: policy, expires_at: policy === 'temporary' ? day(-30) : null, retain_until: null, legal_hold: i === 3,
  revision: 1 + (i % 3), created_at: day(i), updated_at: day(i / 2), storage_element_id: policy === 'temporary' ? 'se-edit-1' : 'se-rw-1',
  copies: [{ storage_element_id: policy === 'temporary' ? 'se-edit-1' : 'se-rw-1', mode: policy === 'temporary' ? 'edit' : 'rw', state: 'committed' }],
  status: 'available', score: 0.9 - i / 20,
});
const files = [
  file(1, 'annual-report-2025.pdf', 'application/pdf', 4_812_331, 'Annual report 2025, board approved version', ['finance', 'report'], 'permanent'),
  file(2, 'scan-contract-0042.tiff', 'image/tiff', 38_221_004, 'Signed supplier contract, scanned', ['contract', 'legal'], 'permanent'),
  file(3, 'invoice-2026-11-118.pdf', 'application/pdf', 233_115, 'Invoice November, supplier ACME', ['finance', 'invoice'], 'permanent'),
  file(4, 'draft-budget.xlsx', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', 91_204, 'Budget draft for Q1', ['finance', 'draft'], 'temporary'),
  file(5, 'site-photo-017.jpg', 'image/jpeg', 5_100_422, 'Photo of the archive building', ['photo'], 'temporary'),
];
const users = [
  { id: 'u-1', username: 'admin', full_name: 'Ada Admin', email: 'admin@example.org', role: 'ADMIN', status: 'ACTIVE', source: 'LOCAL', last_login_at: day(0) },
  { id: 'u-2', username: 'oscar', full_name: 'Oscar Operator', email: 'oscar@example.org', role: 'OPERATOR', status: 'ACTIVE', source: 'LDAP', last_sync_at: day(0.01), last_login_at: day(1) },
  { id: 'u-7', username: 'alice', full_name: 'Alice User', email: 'alice@example.org', role: 'USER', status: 'LOCKED', source: 'LOCAL', locked_until: day(-0.01), last_login_at: day(2) },
  { id: 'u-9', username: 'bob', full_name: 'Bob Dismissed', role: 'USER', status: 'INACTIVE', source: 'LDAP', last_sync_at: day(0.01) },
];
const accounts = [
  { id: 'sa-1', client_id: 'svc-ingester', name: 'svc-ingester', scopes: ['files:read', 'files:write', 'files:write-on-behalf', 'files:delete', 'files:relocate', 'audit:write'], status: 'ACTIVE', fleet: true, last_used_at: day(0), created_at: day(40) },
  { id: 'sa-2', client_id: 'sa_7f3b2c', name: 'backup-exporter', scopes: ['files:read'], status: 'SUSPENDED', fleet: false, last_used_at: day(12), created_at: day(90) },
];
const keys = [
  { kid: '2026-11-20-a1b2', algorithm: 'RS256', created_at: day(6), state: 'active', verify_until: null },
  { kid: '2026-10-01-9f8e', algorithm: 'RS256', created_at: day(56), state: 'retiring', verify_until: day(-0.02) },
  { kid: '2026-08-12-77c1', algorithm: 'RS256', created_at: day(106), state: 'retired', verify_until: day(50) },
];
const actions = [['auth.login', 'admin', 'success'], ['file.upload', 'alice', 'success'], ['auth.login', 'alice', 'failure'],
  ['user.locked', 'alice', 'success'], ['storage_element.mode_changed', 'oscar', 'success'], ['user.created', 'admin', 'success'],
  ['password.reset_requested', 'nobody', 'ignored']];
const audit = actions.map(([action, actor, outcome], i) => ({
  id: `ev-${i}`, seq: 1000 - i, occurred_at: new Date(Date.now() - i * 600000).toISOString(), service: action.startsWith('file') ? 'ingester_module' : 'admin_module',
  actor: { id: `u-${actor}`, username: actor, kind: 'user' }, action, target: action.startsWith('file') ? files[i % 5].file_id : actor, outcome, details: {},
}));

export function fixtureResponse(method, url) {
  const u = new URL(url);
  const p = u.pathname;
  const page = (items) => ({ items, next_cursor: null, total: items.length });
  const routes = [
    ['POST', '/api/v1/auth/token', () => ({ access_token: fakeJwt('ADMIN', 'admin'), token_type: 'Bearer', expires_in: 1800, refresh_token: 'r1', scope: '' })],
    ['GET', '/api/v1/storage-elements', () => page(ses)],
    ['GET', '/api/v1/fleet', () => ({ items: [
      ...[['admin_module', 8000], ['ingester_module', 8020], ['query_module', 8030], ['storage_element', 8010], ['storage_element', 8011]].map(([k, port]) =>
        ({ kind: k, instance_id: `${k}-${port}`, url: `http://127.0.0.1:${port}`, version: '0.1.0', started_at: day(1), last_seen_at: day(0), status: 'up' })),
      { kind: 'storage_element', instance_id: 'storage_element-8012', url: 'http://127.0.0.1:8012', version: '0.1.0', started_at: day(3), last_seen_at: day(0.2), status: 'stale' },
    ], storage_elements: ses })],
    ['GET', '/api/v1/stats', () => ({
      totals: { files: 60765, bytes: 2941 * GiB },
      storage_elements: ses.map((s) => ({ storage_element_id: s.id, mode: s.mode, files: s.file_count, bytes: s.capacity.used })),
      modes: [{ mode: 'edit', files: 412, bytes: 61 * GiB }, { mode: 'rw', files: 10233, bytes: 870 * GiB }, { mode: 'ro', files: 50120, bytes: 2010 * GiB }],
      retention_policies: [{ retention_policy: 'temporary', files: 412, bytes: 61 * GiB }, { retention_policy: 'permanent', files: 60353, bytes: 2880 * GiB }],
      uploads_per_day: Array.from({ length: 30 }, (_, i) => ({ date: day(29 - i).slice(0, 10), files: Math.round(80 + 60 * Math.sin(i / 3) + (i % 7) * 9), bytes: 0 })),
      latest_uploads: files.slice(0, 5),
    })],
    ['GET', '/api/v1/search/suggest', () => ({ items: [{ value: 'annual-report-2025.pdf', kind: 'filename' }, { value: 'annual', kind: 'tag' }] })],
    ['GET', '/api/v1/search', () => ({ items: files, next_cursor: 'c2', total: 1234, total_is_estimate: true,
      facets: { tag: [{ value: 'finance', count: 412 }, { value: 'contract', count: 88 }, { value: 'photo', count: 51 }],
        content_type: [{ value: 'application/pdf', count: 733 }, { value: 'image/jpeg', count: 220 }, { value: 'image/tiff', count: 97 }],
        retention_policy: [{ value: 'permanent', count: 1100 }, { value: 'temporary', count: 134 }], year: [{ value: '2026', count: 1200 }, { value: '2025', count: 34 }] } })],
    ['GET', /^\/api\/v1\/files\/[^/]+$/, () => files.find((f) => p.endsWith(f.file_id)) ?? files[0]],
    ['GET', '/api/v1/users', () => page(users)],
    ['GET', '/api/v1/ldap/status', () => ({ enabled: true, urls: ['ldap://127.0.0.1:3890'], sync_interval_seconds: 900,
      connection: { state: 'up', server: 'ldap://127.0.0.1:3890', error: null, checked_at: day(0) },
      last_sync: { at: day(0.01), outcome: 'ok', trigger: 'scheduled', created: 0, updated: 3, deactivated: 1, errors: [] }, last_successful_sync_at: day(0.01) })],
    ['GET', '/api/v1/service-accounts', () => page(accounts)],
    ['GET', '/api/v1/keys', () => page(keys)],
    ['GET', '/api/v1/audit-events/verify', () => ({ ok: true, checked: 1000, first_bad: null })],
    ['GET', '/api/v1/audit-events', () => ({ items: audit, next_cursor: 'c2' })],
  ];
  for (const [m, path, body] of routes) {
    if (m === method && (typeof path === 'string' ? p === path : path.test(p))) return { status: 200, body: body() };
  }
  return { status: 404, body: { type: 'about:blank', title: 'Not Found', status: 404, detail: `No fixture for ${method} ${p}`, code: 'not_found' } };
}
