/** Who is acting, on which tenant, from where: what every mutation writes to the audit log. */
export interface Caller {
  tenantId: string;
  actorType: 'user' | 'token' | 'system' | 'connect_session';
  actorId: string | null;
  requestId: string;
  sourceIp: string;
}

/** The audit log's entry for what a caller did, before the repository stamps it. */
export function auditEntryOf(
  caller: Caller,
  action: string,
  target: { type: string; id: string },
  details: Record<string, unknown>,
) {
  return {
    tenantId: caller.tenantId,
    actorType: caller.actorType,
    actorId: caller.actorId,
    action,
    targetType: target.type,
    targetId: target.id,
    requestId: caller.requestId,
    sourceIp: caller.sourceIp,
    details,
  };
}
