/**
 * An organization for the enrollment and discovery kill -9 test (organization-kill.test.ts): the test
 * and the process it kills build the same AWS world (accounts, roles) over the same database.
 */
import { memberExternalId } from '@onramp/core';
import type { Dialect } from '@onramp/server';
import { openDatabase } from '@onramp/server';
import {
  createHarness,
  type Harness,
  MANAGEMENT_ROLE,
  MEMBER_ROLE,
  type TestDatabase,
} from '@onramp/server/testing';

export const MANAGEMENT = '111122223333';
export const MEMBER_COUNT = 60;
export { MANAGEMENT_ROLE, MEMBER_ROLE };
export const memberIds = Array.from({ length: MEMBER_COUNT }, (_, i) =>
  String(210000000000 + i * 7),
);
export const roleOf = (accountId: string, name = MEMBER_ROLE) =>
  `arn:aws:iam::${accountId}:role/${name}`;

export type Location = TestDatabase['location'];

/** The harness over the database at `location`, with the organization's accounts and roles in AWS. */
export async function openWorld(location: Location, prefix?: string): Promise<Harness> {
  const handle = openDatabase(location);
  const database: TestDatabase = { ...handle, location, drop: () => handle.close() };
  const h = await createHarness(location.kind as Dialect, {}, { database });
  const fake = h.aws.addOrganization(MANAGEMENT, { id: 'o-kill000001', rootId: 'r-kill' });
  const unit = 'ou-kill-00000001';
  fake.units.set(unit, { name: 'Workloads', parentId: fake.rootId });
  for (const id of memberIds)
    fake.accounts.set(id, {
      name: `m-${id}`,
      email: `${id}@example.com`,
      status: 'ACTIVE',
      parentId: unit,
    });
  // Small pages: a discovery is many calls, so a kill lands inside one.
  h.aws.orgFaults.pageSize = 3;
  if (prefix) addRoles(h, prefix);
  return h;
}

export function addRoles(h: Harness, prefix: string) {
  h.aws.addRole(roleOf(MANAGEMENT, MANAGEMENT_ROLE), memberExternalId(prefix, MANAGEMENT));
  for (const id of memberIds) h.aws.addRole(roleOf(id), memberExternalId(prefix, id));
}
