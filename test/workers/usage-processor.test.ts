// UsageBatcher: flushes at N records or T ms, settles each record only after its batch's insert, dedupes within a batch.
import { describe, expect, test } from 'bun:test'
import type { UsageRecord } from '../../src/metering/usage-record'
import { UsageBatcher } from '../../workers/usage/processor'
import { usageRecord, waitFor } from './usage-records'

/** An insert that records each batch and completes only when the test says so. */
function controlledInsert() {
  const calls: { records: UsageRecord[]; resolve: (n: number) => void; reject: (e: unknown) => void }[] = []
  const insert = (records: UsageRecord[]) =>
    new Promise<number>((resolve, reject) => {
      calls.push({ records, resolve, reject })
    })
  return { calls, insert }
}

/** Resolves to 'pending' if the promise has not settled after the current macrotask. */
async function state(promise: Promise<unknown>): Promise<'resolved' | 'rejected' | 'pending'> {
  let result: 'resolved' | 'rejected' | 'pending' = 'pending'
  promise.then(
    () => (result = 'resolved'),
    () => (result = 'rejected'),
  )
  await Bun.sleep(0)
  return result
}

describe('UsageBatcher', () => {
  test('flushes as soon as batchSize distinct records are waiting', async () => {
    const { calls, insert } = controlledInsert()
    const batcher = new UsageBatcher({ batchSize: 3, flushMs: 60_000, insert })
    const promises = [1, 2, 3, 4].map((i) => batcher.add(usageRecord({ requestId: `req_${i}` })))
    await Bun.sleep(0)
    expect(calls).toHaveLength(1)
    expect(calls[0]!.records.map((r) => r.requestId)).toEqual(['req_1', 'req_2', 'req_3'])
    calls[0]!.resolve(3)
    await Promise.all(promises.slice(0, 3))
    expect(await state(promises[3]!)).toBe('pending')
    const flushing = batcher.flush()
    expect(calls).toHaveLength(2)
    calls[1]!.resolve(1)
    await flushing
    await promises[3]
  })

  test('flushes flushMs after the first record of a batch', async () => {
    const { calls, insert } = controlledInsert()
    const batcher = new UsageBatcher({ batchSize: 100, flushMs: 30, insert })
    const first = batcher.add(usageRecord({ requestId: 'req_a' }))
    const second = batcher.add(usageRecord({ requestId: 'req_b' }))
    await Bun.sleep(0)
    expect(calls).toHaveLength(0)
    await waitFor(() => calls.length === 1, 5_000, 'the batch')
    expect(calls[0]!.records).toHaveLength(2)
    calls[0]!.resolve(2)
    await Promise.all([first, second])
  })

  test('a record settles only after the insert of its batch has resolved', async () => {
    const { calls, insert } = controlledInsert()
    const batcher = new UsageBatcher({ batchSize: 2, flushMs: 60_000, insert })
    const a = batcher.add(usageRecord({ requestId: 'req_1' }))
    const b = batcher.add(usageRecord({ requestId: 'req_2' }))
    await Bun.sleep(5)
    expect(calls).toHaveLength(1)
    expect(await state(a)).toBe('pending')
    expect(await state(b)).toBe('pending')
    calls[0]!.resolve(2)
    expect(await state(a)).toBe('resolved')
    expect(await state(b)).toBe('resolved')
  })

  test('a failed insert rejects every record of that batch, and only of that batch', async () => {
    const { calls, insert } = controlledInsert()
    const batcher = new UsageBatcher({ batchSize: 2, flushMs: 60_000, insert })
    const failed = [batcher.add(usageRecord({ requestId: 'req_1' })), batcher.add(usageRecord({ requestId: 'req_2' }))]
    const ok = [batcher.add(usageRecord({ requestId: 'req_3' })), batcher.add(usageRecord({ requestId: 'req_4' }))]
    await Bun.sleep(0)
    expect(calls).toHaveLength(2)
    const settled = Promise.allSettled(failed)
    calls[0]!.reject(new Error('connection refused'))
    calls[1]!.resolve(2)
    for (const result of await settled) {
      expect(result.status).toBe('rejected')
      expect(String((result as PromiseRejectedResult).reason)).toContain('connection refused')
    }
    await Promise.all(ok)
  })

  test('the same request id twice in a batch is written once and settles both adds', async () => {
    const { calls, insert } = controlledInsert()
    const batcher = new UsageBatcher({ batchSize: 3, flushMs: 20, insert })
    const adds = [
      batcher.add(usageRecord({ requestId: 'req_dup' })),
      batcher.add(usageRecord({ requestId: 'req_other' })),
      batcher.add(usageRecord({ requestId: 'req_dup' })),
    ]
    await waitFor(() => calls.length === 1, 5_000, 'the batch')
    expect(calls[0]!.records.map((r) => r.requestId).sort()).toEqual(['req_dup', 'req_other'])
    calls[0]!.resolve(2)
    await Promise.all(adds)
  })

  test('a record error splits the batch so only the bad record fails', async () => {
    const written: string[] = []
    const batcher = new UsageBatcher({
      batchSize: 8,
      flushMs: 60_000,
      insert: async (records) => {
        if (records.some((r) => r.costNano < 0)) throw Object.assign(new Error('violates check constraint'), { code: '23514' })
        written.push(...records.map((r) => r.requestId))
        return records.length
      },
      isRecordError: (error) => (error as { code?: string }).code === '23514',
    })
    const adds = Array.from({ length: 8 }, (_, i) => batcher.add(usageRecord({ requestId: `req_${i}`, costNano: i === 5 ? -1 : 10 })))
    const results = await Promise.allSettled(adds)
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled'])
    expect(written.sort()).toEqual(['req_0', 'req_1', 'req_2', 'req_3', 'req_4', 'req_6', 'req_7'])
  })

  test('flush() sends a partial batch at once and waits for its commit', async () => {
    let committed = 0
    const batcher = new UsageBatcher({
      batchSize: 100,
      flushMs: 60_000,
      insert: async (records) => {
        await Bun.sleep(10)
        committed += records.length
        return records.length
      },
    })
    const adds = [batcher.add(usageRecord({ requestId: 'req_1' })), batcher.add(usageRecord({ requestId: 'req_2' }))]
    expect(batcher.pending).toBe(2)
    await batcher.flush()
    expect(committed).toBe(2)
    expect(batcher.pending).toBe(0)
    await Promise.all(adds)
  })
})
