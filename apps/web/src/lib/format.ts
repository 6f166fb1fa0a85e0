/** "3 minutes ago", "in 2 days": relative to now, for last-checked and created times. */
export function timeAgo(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return 'never';
  const seconds = Math.round((new Date(iso).getTime() - now) / 1000);
  const units: [Intl.RelativeTimeFormatUnit, number][] = [
    ['year', 31_536_000],
    ['month', 2_592_000],
    ['day', 86_400],
    ['hour', 3_600],
    ['minute', 60],
  ];
  const format = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });
  for (const [unit, size] of units) {
    if (Math.abs(seconds) >= size) return format.format(Math.round(seconds / size), unit);
  }
  return Math.abs(seconds) < 10 ? 'just now' : format.format(seconds, 'second');
}

export function dateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  return new Date(iso).toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short' });
}

export const METHOD_LABELS = {
  role: 'IAM role',
  oidc_role: 'Keyless IAM role',
  access_keys: 'Access keys',
} as const;

/** A role of either kind (external-ID or keyless): what Onramp signs in to is a role, not a user. */
export function isRoleMethod(method: string): method is 'role' | 'oidc_role' {
  return method === 'role' || method === 'oidc_role';
}

export const PARTITION_LABELS: Record<string, string> = {
  aws: 'AWS',
  'aws-us-gov': 'AWS GovCloud (US)',
  'aws-cn': 'AWS China',
};

export function formatDuration(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** The fields errors of a check name, as the forms label them; a bundle's errors are `permissions.<id>`. */
const FIELD_LABELS: Record<string, string> = {
  name: 'Name',
  method: 'Method',
  partition: 'Partition',
  // AWS did not answer (a stale check): not the account's fault.
  aws: 'AWS',
  roleArn: 'Role ARN',
  externalId: 'External ID',
  oidcProvider: 'Identity provider',
  accessKeyId: 'Access key ID',
  secretAccessKey: 'Secret access key',
  bundles: 'Permissions',
  permissions: 'Permissions',
  regions: 'Regions',
  connectionId: 'Connection',
  form: 'Account',
};

export function fieldLabel(field: string, bundleName: (id: string) => string = (id) => id): string {
  if (field.startsWith('permissions.')) return bundleName(field.slice('permissions.'.length));
  return FIELD_LABELS[field] ?? field;
}

/** A role ARN to show as an example, in the partition's own prefix (arn:aws-us-gov:… in GovCloud). */
export function exampleRoleArn(partition: string, roleName = 'OnrampRole'): string {
  return `arn:${partition}:iam::123456789012:role/${roleName}`;
}
