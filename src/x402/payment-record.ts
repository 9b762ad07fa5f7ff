// The record of one x402 payment, as the paid-routes path hands it to whoever stores it (the usage queue).
export interface X402PaymentRecord {
  requestId: string
  /** As written in the config: "POST /v1/messages". */
  route: string
  payer: string
  network: string
  asset: string
  payTo: string
  /** USDC atomic units, as a decimal string. */
  amount: string
  scheme: 'exact' | 'upto'
  /** The settlement transaction, null when nothing was settled. */
  transaction: string | null
  status: 'settled' | 'refused' | 'settle_failed' | 'upstream_failed'
  startedAt: Date
}
export type X402PaymentRecorder = (record: X402PaymentRecord) => void
