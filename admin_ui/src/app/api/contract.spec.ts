/**
 * The UI's API calls against the services' generated OpenAPI types (generated/, refreshed by
 * `npm run gen:api`). types.ts takes its types from the generated schemas; this file checks that
 * each route the clients call still exists and answers (or takes) exactly the schema the UI's type
 * is made of. These are type assertions: `npm test` type-checks every spec before running it, so a
 * route renamed, a schema swapped or a field changed fails the test run.
 */
import type { paths as AdminPaths } from './generated/admin';
import type { paths as IngesterPaths } from './generated/ingester';
import type { paths as QueryPaths } from './generated/query';
import type {
  AuditEventPage, AuditVerify, DownloadLink, FilePatch, FileRecord, FleetView, KeyList, LdapStatus, LdapSyncResult, Saga,
  SagaAccepted, SearchResponse, ServiceAccount, ServiceAccountPage, ServiceAccountPatch, ServiceAccountWithSecret,
  StorageElement, StorageElementList, StorageElementPatch, Suggestions, User, UserCreate, UserPage, UserPatch,
} from './types';

type Method = 'get' | 'post' | 'patch' | 'delete';
/** The JSON body of an operation's success answer (200, 201 or 202). */
type Answer<Paths, Path extends keyof Paths, M extends Method & keyof Paths[Path]> =
  Paths[Path][M] extends { responses: infer R }
    ? { [C in keyof R]: C extends 200 | 201 | 202 ? (R[C] extends { content: { 'application/json': infer B } } ? B : never) : never }[keyof R]
    : never;
/** The JSON body an operation takes. */
type Body<Paths, Path extends keyof Paths, M extends Method & keyof Paths[Path]> =
  Paths[Path][M] extends { requestBody?: { content: { 'application/json': infer B } } } ? B : never;

type AdminAnswer<P extends keyof AdminPaths, M extends Method & keyof AdminPaths[P]> = Answer<AdminPaths, P, M>;
type QueryAnswer<P extends keyof QueryPaths, M extends Method & keyof QueryPaths[P]> = Answer<QueryPaths, P, M>;
type IngesterAnswer<P extends keyof IngesterPaths, M extends Method & keyof IngesterPaths[P]> = Answer<IngesterPaths, P, M>;

describe('API contract (type assertions, checked when npm test compiles)', () => {
  it('admin: users, LDAP, service accounts, keys, audit', () => {
    expectTypeOf<AdminAnswer<'/api/v1/users/me', 'get'>>().toEqualTypeOf<User>();
    expectTypeOf<AdminAnswer<'/api/v1/users', 'get'>>().toEqualTypeOf<UserPage>();
    expectTypeOf<AdminAnswer<'/api/v1/users', 'post'>>().toEqualTypeOf<User>();
    expectTypeOf<Body<AdminPaths, '/api/v1/users', 'post'>>().toEqualTypeOf<UserCreate>();
    expectTypeOf<AdminAnswer<'/api/v1/users/{user_id}', 'patch'>>().toEqualTypeOf<User>();
    expectTypeOf<Body<AdminPaths, '/api/v1/users/{user_id}', 'patch'>>().toEqualTypeOf<UserPatch>();
    expectTypeOf<Body<AdminPaths, '/api/v1/users/me/password', 'post'>>()
      .toEqualTypeOf<{ current_password: string; new_password: string }>();
    expectTypeOf<Body<AdminPaths, '/api/v1/auth/password-reset', 'post'>>().toEqualTypeOf<{ login: string }>();
    expectTypeOf<Body<AdminPaths, '/api/v1/auth/password-reset/confirm', 'post'>>()
      .toEqualTypeOf<{ token: string; new_password: string }>();
    expectTypeOf<AdminAnswer<'/api/v1/ldap/status', 'get'>>().toEqualTypeOf<LdapStatus>();
    expectTypeOf<AdminAnswer<'/api/v1/ldap/sync', 'post'>>().toEqualTypeOf<LdapSyncResult>();

    expectTypeOf<AdminAnswer<'/api/v1/service-accounts', 'get'>>().toEqualTypeOf<ServiceAccountPage>();
    expectTypeOf<AdminAnswer<'/api/v1/service-accounts', 'post'>>().toEqualTypeOf<ServiceAccountWithSecret>();
    expectTypeOf<Body<AdminPaths, '/api/v1/service-accounts', 'post'>['scopes']>().toEqualTypeOf<string[]>();
    expectTypeOf<AdminAnswer<'/api/v1/service-accounts/{account_id}', 'patch'>>().toEqualTypeOf<ServiceAccount>();
    expectTypeOf<Body<AdminPaths, '/api/v1/service-accounts/{account_id}', 'patch'>>().toEqualTypeOf<ServiceAccountPatch>();
    expectTypeOf<AdminAnswer<'/api/v1/service-accounts/{account_id}/rotate-secret', 'post'>>().toEqualTypeOf<ServiceAccountWithSecret>();

    expectTypeOf<AdminAnswer<'/api/v1/keys', 'get'>>().toEqualTypeOf<KeyList>();
    expectTypeOf<AdminAnswer<'/api/v1/audit-events', 'get'>>().toEqualTypeOf<AuditEventPage>();
    expectTypeOf<AdminAnswer<'/api/v1/audit-events/verify', 'get'>>().toEqualTypeOf<AuditVerify>();
  });

  it('admin: storage elements and the fleet (mode narrowed from string to the four SE modes)', () => {
    // The UI narrows `mode`; every other field is the service's, so the UI type fits the answer.
    expectTypeOf<StorageElementList>().toExtend<AdminAnswer<'/api/v1/storage-elements', 'get'>>();
    expectTypeOf<StorageElement>().toExtend<AdminAnswer<'/api/v1/storage-elements/{se_id}', 'get'>>();
    expectTypeOf<StorageElement>().toExtend<AdminAnswer<'/api/v1/storage-elements', 'post'>>();
    expectTypeOf<StorageElement>().toExtend<AdminAnswer<'/api/v1/storage-elements/{se_id}', 'patch'>>();
    expectTypeOf<Body<AdminPaths, '/api/v1/storage-elements/{se_id}', 'patch'>>().toEqualTypeOf<StorageElementPatch>();
    expectTypeOf<Body<AdminPaths, '/api/v1/storage-elements', 'post'>>().toEqualTypeOf<{ url: string }>();
    expectTypeOf<FleetView>().toExtend<AdminAnswer<'/api/v1/fleet', 'get'>>();
    expectTypeOf<keyof StorageElement>().toEqualTypeOf<keyof AdminAnswer<'/api/v1/storage-elements/{se_id}', 'get'>>();
  });

  it('query and ingester: search, records, links, metadata and sagas', () => {
    expectTypeOf<SearchResponse>().toExtend<QueryAnswer<'/api/v1/search', 'get'>>();
    expectTypeOf<QueryAnswer<'/api/v1/search/suggest', 'get'>>().toEqualTypeOf<Suggestions>();
    expectTypeOf<FileRecord>().toExtend<QueryAnswer<'/api/v1/files/{file_id}', 'get'>>();
    expectTypeOf<SearchResponse['items'][number]>().toExtend<FileRecord>();
    expectTypeOf<QueryAnswer<'/api/v1/files/{file_id}/download-link', 'post'>>().toEqualTypeOf<DownloadLink>();

    expectTypeOf<Body<IngesterPaths, '/api/v1/files/{file_id}', 'patch'>>().toEqualTypeOf<FilePatch>();
    expectTypeOf<IngesterAnswer<'/api/v1/files/{file_id}/finalize', 'post'>>().toEqualTypeOf<SagaAccepted>();
    expectTypeOf<IngesterAnswer<'/api/v1/files/{file_id}/transfer', 'post'>>().toEqualTypeOf<SagaAccepted>();
    expectTypeOf<IngesterAnswer<'/api/v1/files/{file_id}', 'delete'>>().toEqualTypeOf<SagaAccepted>();
    expectTypeOf<IngesterAnswer<'/api/v1/sagas/{saga_id}', 'get'>>().toEqualTypeOf<Saga>();
  });

  it('compares types, not field names', () => {
    // Both pages have items, next_cursor and total; their items differ.
    // @ts-expect-error a page of service accounts is not a page of users
    expectTypeOf<AdminAnswer<'/api/v1/users', 'get'>>().toEqualTypeOf<ServiceAccountPage>();
    // @ts-expect-error a plain string is not one of the four SE modes
    expectTypeOf<AdminAnswer<'/api/v1/storage-elements/{se_id}', 'get'>>().toExtend<StorageElement>();
  });
});
