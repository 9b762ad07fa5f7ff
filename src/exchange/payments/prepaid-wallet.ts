// A prepaid agent: each request holds its worst case from the wallet; a stream without its own cap holds slice by slice.
import type { Admission } from '../../limits/admission'
import type { PaymentMethod } from '../payment'
import { admitted, unadmitted } from './admitted'

export interface PrepaidAccount {
  accountId: string
  limits: { rpm: number | null; tpm: number | null }
}

export function prepaidWalletPayment(admission: Admission | null, account: PrepaidAccount): PaymentMethod {
  return {
    mode: 'prepaid',
    subject: account.accountId,
    progressive: true,
    reserve: (hold) =>
      admission
        ? admitted(admission, { subject: account.accountId, accountId: account.accountId, limits: account.limits, mode: 'prepaid', capNano: null }, hold)
        : unadmitted,
  }
}
