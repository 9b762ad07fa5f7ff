// The Reservation every Redis-backed payment method returns: an admission ticket, and the calls that pay for it.
import type { Admission, AdmissionRequest, Ticket } from '../../limits/admission'
import type { HoldRequest, Reservation } from '../payment'

/** What a payment method fixes about its admission; the hold request adds the rest. */
export type AdmissionTerms = Omit<AdmissionRequest, keyof HoldRequest>

/** The reservation of an admitted request: synchronous when the admission was (a lease and a float admitted it here). */
export function admitted(admission: Admission, terms: AdmissionTerms, hold: HoldRequest): Reservation | Promise<Reservation> {
  const ticket = admission.admit({ ...terms, ...hold })
  return ticket instanceof Promise ? ticket.then((admittedTicket) => new Admitted(admission, admittedTicket)) : new Admitted(admission, ticket)
}

/**
 * A class, not an object of closures: a stream's reservation lives as long as the stream, and closures made here would
 * keep this function's whole frame (the terms and the hold request) with it.
 */
class Admitted implements Reservation {
  constructor(
    private readonly admission: Admission,
    private readonly ticket: Ticket,
  ) {}

  get headers(): Record<string, string> {
    return this.ticket.headers
  }
  limitNano(): bigint | null {
    return this.ticket.mode === 'none' ? null : this.ticket.heldNano
  }
  extend(wantNano: bigint, checkpoint: string): Promise<bigint> {
    return this.admission.extend(this.ticket, wantNano, checkpoint)
  }
  checkpoint(record: string): void {
    this.admission.checkpoint(this.ticket, record)
  }
  tracked(): boolean {
    return this.ticket.tracked
  }
  settle(costNano: number, tokensUsed: number, finalRecord: string | null): Promise<void> {
    return this.admission.settle(this.ticket, costNano, tokensUsed, finalRecord)
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
