/** Who is acting, on which tenant, from where: what every mutation writes to the audit log. */
export interface Caller {
  tenantId: string;
  actorType: 'user' | 'token' | 'system';
  actorId: string | null;
  requestId: string;
  sourceIp: string;
}
