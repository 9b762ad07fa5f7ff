// A static key (GATEWAY_API_KEYS): rate limits only, no money; its buckets are the key's own.
import type { Admission } from '../../limits/admission'
import type { PaymentMethod } from '../payment'
import { admitted, unadmitted } from './admitted'

export function staticKeyPayment(admission: Admission | null, keyId: string): PaymentMethod {
  return {
    mode: 'none',
    subject: keyId,
    progressive: false,
    reserve: (hold) =>
      admission
        ? admitted(admission, { subject: keyId, accountId: keyId, limits: { rpm: null, tpm: null }, mode: 'none', capNano: null }, hold)
        : unadmitted,
  }
}
