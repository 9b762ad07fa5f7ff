// The Reservation every Redis-backed payment method returns: an admission ticket, and the calls that pay for it.
import type { Admission, AdmissionRequest, Ticket } from '../../limits/admission'
import type { HoldRequest, Reservation } from '../payment'

/** What a payment method fixes about its admission; the hold request adds the rest. */
export type AdmissionTerms = Omit<AdmissionRequest, keyof HoldRequest>

export async function admitted(admission: Admission, terms: AdmissionTerms, hold: HoldRequest): Promise<Reservation> {
  const ticket: Ticket = await admission.admit({ ...terms, ...hold })
  return {
    headers: ticket.headers,
    limitNano: () => (ticket.mode === 'none' ? null : ticket.heldNano),
    extend: (wantNano, checkpoint) => admission.extend(ticket, wantNano, checkpoint),
    checkpoint: (record) => admission.checkpoint(ticket, record),
    tracked: () => ticket.tracked,
    settle: (costNano, tokensUsed, finalRecord) => admission.settle(ticket, costNano, tokensUsed, finalRecord),
  }
}

/** Nothing to admit and nothing to pay (the bare proxy, without Redis). */
export const unadmitted: Reservation = {
  headers: {},
  limitNano: () => null,
  extend: async () => 0n,
  checkpoint: () => {},
  tracked: () => false,
  settle: async () => {},
}
