// The x402-payments worker's core: one job's records into x402_payments, idempotently; a record Postgres refuses is set aside alone.
import type { QueuedPaymentRecord } from '../../src/db/queries/x402-payments'

export interface PaymentWriteDeps {
  /** One multi-row INSERT … ON CONFLICT (request_id) DO NOTHING; resolves to the rows added. */
  insert(records: QueuedPaymentRecord[]): Promise<number>
  /** True for an error caused by a record's content (SQLSTATE classes 22, 23), not by an unavailable database. */
  isRecordError(error: unknown): boolean
  /** A record that can never be stored: logged, and the job goes on without it. */
  reject(record: QueuedPaymentRecord, error: unknown): void
}

/**
 * Writes the records (one per request id: a record given twice travels once). A batch refused for its content is
 * split in halves down to the record at fault, so one bad record never holds the others back; any other failure
 * throws and BullMQ retries the job (the insert is idempotent).
 */
export async function writePayments(deps: PaymentWriteDeps, records: readonly QueuedPaymentRecord[]): Promise<number> {
  const unique = [...new Map(records.map((r) => [r.requestId, r])).values()]
  return write(deps, unique)
}

async function write(deps: PaymentWriteDeps, records: QueuedPaymentRecord[]): Promise<number> {
  if (records.length === 0) return 0
  try {
    return await deps.insert(records)
  } catch (error) {
    if (!deps.isRecordError(error)) throw error
    if (records.length === 1) {
      deps.reject(records[0]!, error)
      return 0
    }
    const half = Math.ceil(records.length / 2)
    return (await write(deps, records.slice(0, half))) + (await write(deps, records.slice(half)))
  }
}
