import { createContext, useContext } from 'react';

/**
 * The product name a customer sees where a text would name the service that signs in to their
 * account ("a role that trusts Acme Cloud"). The console's own pages say Onramp; a hosted connect
 * session provides the platform's brand name, so the customer never reads a name from outside the
 * platform's world.
 */
export const BrandNameContext = createContext('Onramp');

export function useBrandName(): string {
  return useContext(BrandNameContext);
}
