/**
 * The hand-written API types (types.ts) against the services' generated OpenAPI types
 * (generated/, refreshed by `npm run gen:api`): every response schema the UI reads must be
 * assignable to the type the UI codes against. A drift fails the type check of `npm test`.
 */
import type { components as Admin } from './generated/admin';
import type { components as Ingester } from './generated/ingester';
import type { components as Query } from './generated/query';
import type {
  AuditEvent, AuditVerify, DownloadLink, FacetBucket, FileRecord, FleetView, LdapStatus, LdapSyncResult, Page, Saga,
  SearchResponse, ServiceAccount, SigningKey, StorageElement, User,
} from './types';

type A = Admin['schemas'];
/** `true` when every value of `From` is a valid `To`; the constants below fail to compile otherwise. */
type Fits<From, To> = [From] extends [To] ? true : false;
/**
 * `true` when every field the UI type names is a field of the service's schema. For records
 * whose fields the services declare more loosely (a plain string where the UI narrows to a
 * union, free-form JSON), this is the check that catches a renamed or removed field.
 */
type Covers<From, To> = [keyof To] extends [keyof From] ? true : false;

const checks = {
  user: true as const satisfies Fits<A['UserOut'], User>,
  userPage: true as const satisfies Fits<A['UserPage'], Page<User>>,
  key: true as const satisfies Fits<A['KeyOut'], SigningKey>,
  account: true as const satisfies Fits<A['ServiceAccountOut'], ServiceAccount>,
  accountWithSecret: true as const satisfies Fits<A['ServiceAccountWithSecret'], ServiceAccount>,
  event: true as const satisfies Fits<A['EventOut'], AuditEvent>,
  eventPage: true as const satisfies Fits<A['EventPage'], Page<AuditEvent>>,
  verify: true as const satisfies Fits<A['VerifyResult'], AuditVerify>,
  ldapStatus: true as const satisfies Fits<A['LdapStatus'], LdapStatus>,
  syncReport: true as const satisfies Fits<A['SyncReport'], LdapSyncResult>,
  facet: true as const satisfies Fits<Query['schemas']['FacetValue'], FacetBucket>,
  saga: true as const satisfies Fits<Ingester['schemas']['SagaView'], Saga>,
  storageElement: true as const satisfies Covers<A['StorageElementOut'], StorageElement>,
  fleet: true as const satisfies Covers<A['FleetView'], FleetView>,
  fileRecord: true as const satisfies Covers<Query['schemas']['FileRecord'], FileRecord>,
  searchPage: true as const satisfies Covers<Query['schemas']['SearchPage'], SearchResponse>,
  downloadLink: true as const satisfies Covers<Query['schemas']['DownloadLink'], DownloadLink>,
};

describe('API contract', () => {
  it('the generated schemas fit the types the UI is written against', () => {
    expect(Object.values(checks).every(Boolean)).toBe(true);
  });
});
