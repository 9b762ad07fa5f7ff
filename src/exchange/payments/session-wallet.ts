// An end-user session: the prepaid machinery on the end user's wallet (its ledger holder "wallet:<id>"), with the session lineage's max_spend checked in the same admission.
import type { Admission, SpendLineage } from '../../limits/admission'
import type { PaymentMethod } from '../payment'
import { admitted, unadmitted } from './admitted'

export interface SessionWallet {
  /** The wallet's ledger holder ("wallet:<id>"): its Redis wallet, its buckets, and the account of its usage rows. */
  holderId: string
  /** A session and its refreshes share one max_spend; null: the wallet is the only limit. */
  lineage: SpendLineage | null
}

export function sessionWalletPayment(admission: Admission | null, wallet: SessionWallet): PaymentMethod {
  const terms = {
    subject: wallet.holderId,
    accountId: wallet.holderId,
    limits: { rpm: null, tpm: null },
    mode: 'prepaid',
    capNano: null,
    lineage: wallet.lineage ?? undefined,
  } as const
  return {
    mode: 'prepaid',
    subject: wallet.holderId,
    // Whole holds: a slice-by-slice stream would grow its hold outside the lineage's max_spend check.
    progressive: false,
    reserve: (hold) => (admission ? admitted(admission, terms, hold) : unadmitted),
  }
}
