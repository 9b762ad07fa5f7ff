// A principal for tests that mount a plugin with a trivial authenticator: an active agent on postpaid unless told otherwise.
import type { Principal } from '../../src/modules/auth/service'

export function testPrincipal(accountId: string, overrides: Partial<Principal> = {}): Principal {
  return {
    accountId,
    keyId: `key_${accountId}`,
    mode: 'live',
    kind: 'agent',
    subscriptionStatus: 'active',
    spendCapNano: null,
    limits: { rpm: null, tpm: null },
    billingMode: 'postpaid',
    ...overrides,
  }
}
