// Connect: Express accounts (create, retrieve, onboarding completed by the test), account links, and transfers to accounts with a failure switch.
import type { Clock } from './constants'
import { missing, nested, randomId, stripeError, type Answer } from './form'

export interface FakeAccount {
  id: string
  object: 'account'
  type: string
  country: string
  email: string | null
  created: number
  details_submitted: boolean
  charges_enabled: boolean
  payouts_enabled: boolean
  capabilities: { transfers: 'active' | 'inactive' }
  metadata: Record<string, string>
}

export interface FakeAccountLink {
  object: 'account_link'
  account: string
  created: number
  expires_at: number
  url: string
  refresh_url: string
  return_url: string
  type: string
}

export interface FakeTransfer {
  id: string
  object: 'transfer'
  amount: number
  currency: string
  destination: string
  created: number
  description: string | null
  metadata: Record<string, string>
  reversed: false
  /** The Idempotency-Key the call that created it carried (tests check it is the payout's id). */
  idempotency_key: string | null
}

/** A refusal every transfer answers until cleared: Stripe's own 400s (nothing was transferred). */
export type TransferRefusal = 'balance_insufficient' | 'account_invalid'

const ACCOUNT_TYPES = ['express', 'standard', 'custom']
const LINK_TYPES = ['account_onboarding', 'account_update']
const LINK_TTL_SECONDS = 300

const noSuchAccount = (id: string, param: string) =>
  stripeError(400, 'invalid_request_error', `No such account: '${id}'`, { code: 'resource_missing', param })

const invalid = (param: string, message: string, code?: string) => stripeError(400, 'invalid_request_error', message, { param, ...(code ? { code } : {}) })

const isHttpUrl = (value: string) => /^https?:\/\/[^\s]+$/.test(value)

export function connectStore(clock: Clock) {
  const accounts = new Map<string, FakeAccount>()
  const accountLinks: FakeAccountLink[] = []
  const transfers = new Map<string, FakeTransfer>()
  let refusal: TransferRefusal | null = null

  function createAccount(form: Record<string, string>): Answer {
    const type = form.type ?? 'standard'
    if (!ACCOUNT_TYPES.includes(type)) return invalid('type', `Invalid type: must be one of ${ACCOUNT_TYPES.join(', ')}`)
    const account: FakeAccount = {
      id: randomId('acct'),
      object: 'account',
      type,
      country: form.country ?? 'US',
      email: form.email ?? null,
      created: clock.seconds(),
      details_submitted: false,
      charges_enabled: false,
      payouts_enabled: false,
      capabilities: { transfers: 'inactive' },
      metadata: nested(form, 'metadata'),
    }
    accounts.set(account.id, account)
    return { status: 200, body: structuredClone(account) }
  }

  function retrieveAccount(id: string): Answer {
    const account = accounts.get(id)
    // Stripe answers a 403 for an account the platform cannot see; an unknown id reads the same.
    if (!account) return stripeError(403, 'invalid_request_error', `The provided key does not have access to account '${id}' (or that account does not exist).`, { code: 'account_invalid' })
    return { status: 200, body: structuredClone(account) }
  }

  function createAccountLink(form: Record<string, string>): Answer {
    if (!form.account) return missing('account')
    if (!form.type) return missing('type')
    if (!LINK_TYPES.includes(form.type)) return invalid('type', `Invalid type: must be one of ${LINK_TYPES.join(', ')}`)
    for (const param of ['refresh_url', 'return_url'] as const) {
      if (form[param] !== undefined && !isHttpUrl(form[param]!)) return invalid(param, `Not a valid URL`, 'url_invalid')
    }
    const account = accounts.get(form.account)
    if (!account) return noSuchAccount(form.account, 'account')
    const created = clock.seconds()
    const link: FakeAccountLink = {
      object: 'account_link',
      account: account.id,
      created,
      expires_at: created + LINK_TTL_SECONDS,
      url: `https://connect.stripe.com/setup/e/${account.id}/${randomId('l').slice(2)}`,
      refresh_url: form.refresh_url ?? '',
      return_url: form.return_url ?? '',
      type: form.type,
    }
    accountLinks.push(link)
    return { status: 200, body: structuredClone(link) }
  }

  function createTransfer(form: Record<string, string>, idempotencyKey: string | null): Answer {
    if (form.amount === undefined || form.amount === '') return missing('amount')
    if (!/^\d+$/.test(form.amount) || Number(form.amount) < 1) return invalid('amount', 'This value must be greater than or equal to 1.', 'parameter_invalid_integer')
    if (!form.currency) return missing('currency')
    if (!form.destination) return missing('destination')
    const destination = accounts.get(form.destination)
    if (!destination) return noSuchAccount(form.destination, 'destination')
    if (destination.capabilities.transfers !== 'active') {
      return invalid('destination', 'Your destination account needs to have at least one of the following capabilities enabled: transfers, crypto_transfers, legacy_payments', 'insufficient_capabilities_for_transfer')
    }
    if (refusal === 'balance_insufficient') {
      return stripeError(400, 'invalid_request_error', 'You have insufficient available funds in your Stripe account. Try adding funds directly to your available balance by creating Charges using the 4000000000000077 test card.', { code: 'balance_insufficient' })
    }
    if (refusal === 'account_invalid') return invalid('destination', 'The destination account is not valid for transfers right now.', 'account_invalid')
    const transfer: FakeTransfer = {
      id: randomId('tr'),
      object: 'transfer',
      amount: Number(form.amount),
      currency: form.currency.toLowerCase(),
      destination: destination.id,
      created: clock.seconds(),
      description: form.description ?? null,
      metadata: nested(form, 'metadata'),
      reversed: false,
      idempotency_key: idempotencyKey,
    }
    transfers.set(transfer.id, transfer)
    return { status: 200, body: structuredClone(transfer) }
  }

  /** What Stripe does when the account holder finishes onboarding: details submitted, charges, payouts and transfers on. */
  function completeOnboarding(id: string): FakeAccount {
    const account = accounts.get(id)
    if (!account) throw new Error(`fake stripe: no account ${id}`)
    Object.assign(account, { details_submitted: true, charges_enabled: true, payouts_enabled: true, capabilities: { transfers: 'active' } })
    return structuredClone(account)
  }

  return {
    accounts,
    accountLinks,
    transfers,
    createAccount,
    retrieveAccount,
    createAccountLink,
    createTransfer,
    completeOnboarding,
    refuseTransfers: (next: TransferRefusal | null) => void (refusal = next),
  }
}
