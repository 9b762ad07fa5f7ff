// A postpaid agent: billed through Stripe after the fact; with a monthly cap, spend + open holds + this hold stay within it.
import { PaymentRequiredError } from '../../errors'
import type { Admission } from '../../limits/admission'
import type { PaymentMethod } from '../payment'
import { admitted, unadmitted } from './admitted'

export interface PostpaidAccount {
  accountId: string
  limits: { rpm: number | null; tpm: number | null }
  /** Monthly spending cap (nano-USD); null: none. */
  capNano: bigint | null
}

/** Told when a request is refused at the cap (the account hears about it once a month). */
export type OnCapReached = (accountId: string, message: string) => void

export function postpaidPayment(admission: Admission | null, account: PostpaidAccount, onCapReached?: OnCapReached): PaymentMethod {
  const mode = account.capNano === null ? 'none' : 'cap'
  return {
    mode,
    subject: account.accountId,
    progressive: false,
    reserve(hold) {
      if (!admission) return unadmitted
      const terms = { subject: account.accountId, accountId: account.accountId, limits: account.limits, mode, capNano: account.capNano } as const
      const capReached = (error: unknown): never => {
        if (error instanceof PaymentRequiredError && error.code === 'spending_cap_reached') onCapReached?.(account.accountId, error.message)
        throw error
      }
      try {
        const reservation = admitted(admission, terms, hold)
        return reservation instanceof Promise ? reservation.catch(capReached) : reservation
      } catch (error) {
        return capReached(error)
      }
    },
  }
}
