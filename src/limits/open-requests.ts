// The hold sweeper's view of Redis: the index of tracked requests, and what became of one whose gateway may have died.
import type { RedisConnection } from '../lib/redis'
import type { UsageRecord } from '../metering/usage-record'
import { OPEN_INDEX_SHARDS, openIndexKeys, subjectKeys } from './keys'
import { registerScripts, type ScriptRunner } from './scripts'

/** A tracked request as inspect-open-4 finds it. */
export type Inspection =
  | { state: 'gone' }
  | { state: 'live'; expiresAt: number }
  /** Its hold expired: its gateway died mid-request; the record is the last checkpoint. */
  | { state: 'lost'; record: UsageRecord }
  /** Settled, but Postgres never got the record: the record is the final one. */
  | { state: 'unwritten'; record: UsageRecord }

export interface IndexEntry {
  shard: number
  member: string
  requestId: string
  subject: string
}

export class OpenRequests {
  private readonly run: ScriptRunner
  private readonly index: string[]

  constructor(
    private readonly redis: RedisConnection,
    queuePrefix: string,
  ) {
    this.run = registerScripts(redis)
    this.index = openIndexKeys(queuePrefix)
  }

  readonly shards = OPEN_INDEX_SHARDS

  /** Entries of a shard that are due for a look (their hold could have expired by now). */
  async due(shard: number, now: number, limit: number): Promise<IndexEntry[]> {
    const members = await this.redis.zrangebyscore(this.index[shard]!, '-inf', now, 'LIMIT', 0, limit)
    return members.map((member) => {
      const space = member.indexOf(' ')
      return { shard, member, requestId: member.slice(0, space), subject: member.slice(space + 1) }
    })
  }

  async inspect(entry: IndexEntry, now: number): Promise<Inspection> {
    const keys = subjectKeys(entry.subject)
    const [state, value] = (await this.run('inspect-open-4', [keys.holds, keys.holdExpiry, keys.open, keys.unposted], [entry.requestId, now])) as [
      Inspection['state'],
      string | number | undefined,
    ]
    if (state === 'live') return { state, expiresAt: Number(value) }
    if (state === 'lost' || state === 'unwritten') return { state, record: JSON.parse(String(value)) as UsageRecord }
    return { state: 'gone' }
  }

  /** Postgres has the request at this cost: Redis pays it from the hold (or marks it for the gateway that came back). */
  async settleLost(entry: IndexEntry, costNano: number, now: number): Promise<string> {
    const keys = subjectKeys(entry.subject)
    return (await this.run('settle-lost-7', [keys.wallet, keys.holds, keys.holdExpiry, keys.unposted, keys.posted, keys.settled, keys.open], [
      entry.requestId, costNano, now,
    ])) as unknown as string
  }

  async lookAgainAt(entry: IndexEntry, at: number): Promise<void> {
    await this.redis.zadd(this.index[entry.shard]!, at, entry.member)
  }

  async forget(entry: IndexEntry): Promise<void> {
    await this.redis.zrem(this.index[entry.shard]!, entry.member)
  }
}
