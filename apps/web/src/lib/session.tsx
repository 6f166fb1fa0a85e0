import { createClient, type OnrampClient, type Session } from '@onramp/sdk';
import { createContext, useContext } from 'react';

const TENANT_KEY = 'onramp.tenant';

/** The tenant an operator is acting on (sent as Onramp-Tenant); tenant users have their own. */
export function actingTenant(): string | undefined {
  return window.sessionStorage.getItem(TENANT_KEY) ?? undefined;
}
export function setActingTenant(tenantId: string | undefined) {
  if (tenantId) window.sessionStorage.setItem(TENANT_KEY, tenantId);
  else window.sessionStorage.removeItem(TENANT_KEY);
}

export function createConsoleClient(): OnrampClient {
  return createClient({ tenant: actingTenant });
}

export interface ConsoleContext {
  client: OnrampClient;
  session: Session;
  /** The tenant this page acts on: the user's own, or the one an operator picked. */
  tenantId: string | undefined;
  /** Tenant admins and operators change things; viewers only look. */
  canWrite: boolean;
  isOperator: boolean;
  setTenant: (tenantId: string | undefined) => void;
  signOut: () => Promise<void>;
}

export const Console = createContext<ConsoleContext | undefined>(undefined);

export function useConsole(): ConsoleContext {
  const value = useContext(Console);
  if (!value) throw new Error('useConsole outside <Console.Provider>');
  return value;
}

/** The client alone, for components that need no session (and for tests). */
export const ClientContext = createContext<OnrampClient | undefined>(undefined);
export function useClient(): OnrampClient {
  const client = useContext(ClientContext);
  if (!client) throw new Error('useClient outside <ClientContext.Provider>');
  return client;
}
