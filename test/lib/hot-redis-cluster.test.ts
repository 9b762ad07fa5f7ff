// The request path's client on a real Redis Cluster: each subject's keys in one slot, scripts on every node (again after a node forgets them), order kept.
import { afterAll, beforeAll, expect, test } from 'bun:test'
import type { Cluster } from 'ioredis'
import { RedisTimeoutError, type HotRedis } from '../../src/lib/hot-redis'
import { createClusterHotRedis } from '../../src/lib/hot-redis-cluster'
import { createRedis } from '../../src/lib/redis'
import { openIndexKeys, subjectKeys } from '../../src/limits/keys'
import { waitFor } from '../helpers/poll'
import { startRedisCluster, type LocalRedisCluster } from '../helpers/redis-cluster'

let cluster: LocalRedisCluster
let hot: HotRedis
let admin: Cluster

beforeAll(async () => {
  cluster = await startRedisCluster()
  hot = createClusterHotRedis({ kind: 'cluster', nodes: cluster.nodes })
  await hot.ready
  admin = createRedis({ kind: 'cluster', nodes: cluster.nodes }) as Cluster
  await admin.connect()
}, 30_000)
afterAll(async () => {
  hot?.close()
  admin?.disconnect()
  await cluster?.stop()
})

const slotOf = async (key: string) => Number(await admin.cluster('KEYSLOT', key))

/** The port of the master serving a slot. */
async function ownerPort(slot: number): Promise<number> {
  const ranges = await admin.cluster('SLOTS')
  return Number(ranges.find(([from, to]) => slot >= from && slot <= to)![2]![1])
}

test("a subject's keys share one slot, subjects spread over the nodes, and each open-request index shard is a slot of its own", async () => {
  const subjects = Array.from({ length: 30 }, (_, i) => `acct_${i}_${crypto.randomUUID().slice(0, 6)}`)
  const owners = new Set<number>()
  for (const subject of subjects) {
    const keySlots = new Set(await Promise.all(Object.values(subjectKeys(subject)).filter((key): key is string => typeof key === 'string').map(slotOf)))
    expect(keySlots.size).toBe(1)
    owners.add(await ownerPort([...keySlots][0]!))
  }
  expect(owners.size).toBe(cluster.nodes.length)
  for (const key of openIndexKeys('{mw}')) expect(new Set([await slotOf(key), await slotOf(`${key}:other`)]).size).toBe(1)
})

test('scripts run on whichever node owns the subject, and again after every node forgot them (NOSCRIPT → EVAL)', async () => {
  const run = async (round: number) => {
    for (let i = 0; i < 30; i++) {
      const keys = subjectKeys(`script_${i}_${round}_${crypto.randomUUID().slice(0, 6)}`)
      const recorded: unknown = await hot.script('checkpoint-4', [keys.holds, keys.holdExpiry, keys.open, keys.settled], [`req_${i}`, '{}', Date.now(), 60_000], i % 2 ? 'later' : 'now')
      expect(recorded).toBe(1)
      expect(await hot.send('HGET', [keys.holds, `req_${i}`])).toBe('none:0')
    }
  }
  await run(1)
  // As after a restart: each master forgets its scripts.
  await Promise.all(admin.nodes('master').map((node) => node.script('FLUSH')))
  await run(2)
})

test('a script whose keys span two slots is refused (by ioredis, or by Redis with CROSSSLOT): a script mixing slots could not go unnoticed', async () => {
  const a = subjectKeys('mix_a')
  const b = subjectKeys('mix_b_other')
  expect(await slotOf(a.holds)).not.toBe(await slotOf(b.open))
  await expect(hot.script('checkpoint-4', [a.holds, a.holdExpiry, b.open, a.settled], ['req', '{}', Date.now(), 60_000])).rejects.toThrow(/CROSSSLOT|same slot/)
})

test('1,000 commands on both lanes reach their node in the order given; a node that stops answering fails them in bounded time, then works again', async () => {
  const key = `test:hot-order:${crypto.randomUUID()}`
  const replies = Array.from({ length: 1_000 }, (_, n) => hot.send('RPUSH', [key, n], n % 3 === 0 ? 'later' : 'now'))
  expect(await Promise.all(replies)).toEqual(Array.from({ length: 1_000 }, (_, n) => n + 1))

  // Writes on the key's node wait 1.5 s: longer than the 1 s a command may go unanswered.
  const port = await ownerPort(await slotOf(key))
  const owner = admin.nodes('master').find((node) => node.options.port === port)!
  await owner.call('CLIENT', 'PAUSE', '1500', 'WRITE')
  const outcome = await hot.send('RPUSH', [key, 'late']).then(() => 'answered', (error: unknown) => error)
  expect(outcome).toBeInstanceOf(RedisTimeoutError)
  await waitFor(async () => (await hot.send('RPUSH', [key, 'again']).catch(() => 0)) as number, 10_000, 'a write after the pause')
  expect(await hot.send('LINDEX', [key, -1])).toBe('again')
})
