// The request path's Redis client on real Redis: commands gathered into batches keep their order and all get answers; a Redis that stops answering fails them in bounded time, and the client recovers.
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { createHotRedis, RedisTimeoutError, type HotRedis } from '../../src/lib/hot-redis'
import { waitFor } from '../helpers/poll'

let hot: HotRedis
let admin: HotRedis
beforeAll(async () => {
  hot = createHotRedis('redis://127.0.0.1:6379')
  admin = createHotRedis('redis://127.0.0.1:6379')
  await Promise.all([hot.ready, admin.ready])
})
afterAll(() => {
  hot.close()
  admin.close()
})

test('2,000 commands given at once on both lanes, in bursts, reach Redis in the order given and all resolve', async () => {
  const key = `test:hot-order:${crypto.randomUUID()}`
  const replies: Promise<unknown>[] = []
  for (let burst = 0; burst < 20; burst++) {
    for (let i = 0; i < 100; i++) {
      const n = burst * 100 + i
      replies.push(hot.send('RPUSH', [key, n], n % 3 === 0 ? 'later' : 'now'))
    }
    // Some bursts start while earlier batches are still out, some after: both paths are taken.
    if (burst % 2 === 0) await Promise.resolve()
    else await replies.at(-1)
  }
  const lengths = (await Promise.all(replies)) as number[]
  // RPUSH answers the list's new length: the n-th command given was the n-th to run.
  expect(lengths).toEqual(Array.from({ length: 2_000 }, (_, n) => n + 1))
  const list = (await hot.send('LRANGE', [key, 0, -1])) as string[]
  expect(list.map(Number)).toEqual(Array.from({ length: 2_000 }, (_, n) => n))
  await hot.send('DEL', [key])
})

test('a Redis that stops answering fails what was written and what waited behind it, and the client works again after', async () => {
  const key = `test:hot-pause:${crypto.randomUUID()}`
  // Writes on every connection wait for 1.5 s: longer than the 1 s a command may go unanswered.
  await admin.send('CLIENT', ['PAUSE', 1_500, 'WRITE'])
  const written = hot.send('RPUSH', [key, 'a'])
  const queued = hot.send('RPUSH', [key, 'b'])
  const outcomes = await Promise.allSettled([written, queued])
  for (const outcome of outcomes) {
    expect(outcome.status).toBe('rejected')
    expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(RedisTimeoutError)
  }
  // Once Redis answers again, so does the client: a hung batch does not block the queue for good.
  await waitFor(async () => (await hot.send('RPUSH', [key, 'c']).catch(() => 0)) as number, 10_000, 'a write through the client after the pause')
  const list = (await hot.send('LRANGE', [key, 0, -1])) as string[]
  expect(list.at(-1)).toBe('c')
  await hot.send('DEL', [key])
})

test('a busy event loop is not a Redis that hangs: commands given before 1.5 s of blocked loop all get their answers', async () => {
  const key = `test:hot-busy:${crypto.randomUUID()}`
  // Like 10,000 streams opening at once: commands go out, then our own loop is too busy to read the answers for
  // longer than the timeout. Redis answered; the commands must not fail for our lateness.
  for (let round = 0; round < 3; round++) {
    const replies = Array.from({ length: 500 }, (_, i) => hot.send('RPUSH', [key, round * 500 + i]))
    const until = performance.now() + 1_500
    while (performance.now() < until) {
      // blocked: no timer, no socket read
    }
    const settled = await Promise.allSettled(replies)
    expect(settled.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason))).toEqual([])
  }
  expect(Number(await hot.send('LLEN', [key]))).toBe(1_500)
  await hot.send('DEL', [key])
})

test('items given while a gathering call is queued go in that one call (up to its limit), and all get its reply', async () => {
  const { KeyList } = await import('../../src/lib/hot-redis')
  const tag = `{test:gather:${crypto.randomUUID()}}`
  const keys = new KeyList([`${tag}:w`, `${tag}:h`, `${tag}:e`, `${tag}:u`, `${tag}:p`, `${tag}:s`])
  // settle-floats-6 answers how many requests it settled: the count says how many items each call carried.
  const item = (n: number) => [`req_${n}`, 0, 'prepaid', 'float:none', 0]
  const replies = await Promise.all(Array.from({ length: 5 }, (_, n) => hot.gathered('settle-floats-6', keys, [Date.now()], item(n), 2)))
  expect(replies.map(Number)).toEqual([2, 2, 2, 2, 1])
  // The same request twice in one call is settled once; given again later, not at all.
  const twice = await Promise.all([hot.gathered('settle-floats-6', keys, [Date.now()], item(9), 10), hot.gathered('settle-floats-6', keys, [Date.now()], item(9), 10)])
  expect(twice.map(Number)).toEqual([1, 1])
  expect(Number(await hot.gathered('settle-floats-6', keys, [Date.now()], item(9), 10))).toBe(0)
  await admin.send('DEL', [...keys.keys])
})
