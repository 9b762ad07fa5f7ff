// The upstream pool's semaphore: slots up to the limit, waiters served in order, and waits that end without a slot.
import { describe, expect, test } from 'bun:test'
import { Semaphore } from '../../src/lib/semaphore'

describe('Semaphore', () => {
  test('hands out slots up to the limit, then queues; a release passes the slot to the oldest waiter', async () => {
    const slots = new Semaphore(2)
    expect(await slots.acquire(0)).toBeNull()
    expect(await slots.acquire(0)).toBeNull()
    expect(slots.active).toBe(2)
    const order: number[] = []
    const first = slots.acquire(60_000).then((r) => order.push(1) && r)
    const second = slots.acquire(60_000).then((r) => order.push(2) && r)
    expect(slots.waiting).toBe(2)
    // A free slot never jumps the queue.
    expect(slots.tryAcquire()).toBe(false)
    slots.release()
    slots.release()
    expect(await first).toBeNull()
    expect(await second).toBeNull()
    expect(order).toEqual([1, 2])
    expect(slots.active).toBe(2)
    expect(slots.waiting).toBe(0)
    slots.release()
    slots.release()
    expect(slots.active).toBe(0)
  })

  test('a wait ends with "timeout" when nothing frees up, and with no wait allowed at once', async () => {
    const slots = new Semaphore(1)
    expect(await slots.acquire(0)).toBeNull()
    expect(await slots.acquire(0)).toBe('timeout')
    expect(await slots.acquire(10)).toBe('timeout')
    expect(slots.waiting).toBe(0)
    slots.release()
    expect(slots.active).toBe(0)
  })

  test('an aborted wait ends with "aborted", gives up its place, and takes no slot', async () => {
    const slots = new Semaphore(1)
    await slots.acquire(0)
    const controller = new AbortController()
    const waiting = slots.acquire(60_000, controller.signal)
    const behind = slots.acquire(60_000)
    controller.abort()
    expect(await waiting).toBe('aborted')
    slots.release()
    // The slot went to the live waiter behind the aborted one.
    expect(await behind).toBeNull()
    expect(slots.active).toBe(1)
    const already = new AbortController()
    already.abort()
    expect(await slots.acquire(60_000, already.signal)).toBe('aborted')
  })

  test('resize: more room goes to waiters at once; less room drains as slots come back', async () => {
    const slots = new Semaphore(1)
    await slots.acquire(0)
    const waiter = slots.acquire(60_000)
    slots.resize(2)
    expect(await waiter).toBeNull()
    expect(slots.active).toBe(2)
    slots.resize(1)
    const late = slots.acquire(60_000)
    slots.release()
    // Still at the limit of 1: the queued request waits for the next release.
    expect(slots.waiting).toBe(1)
    slots.release()
    expect(await late).toBeNull()
    expect(slots.active).toBe(1)
  })

  test('thousands of waiters are served in order', async () => {
    const slots = new Semaphore(1)
    await slots.acquire(0)
    const served: number[] = []
    const waits = Array.from({ length: 5_000 }, (_, i) => slots.acquire(60_000).then(() => served.push(i)))
    for (let i = 0; i < 5_000; i++) slots.release()
    await Promise.all(waits)
    expect(served).toEqual(Array.from({ length: 5_000 }, (_, i) => i))
  })
})
