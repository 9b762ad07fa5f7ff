// RespWriter: commands encoded into its kept buffer come out byte for byte as RESP, however the buffer's size cuts them.
import { expect, test } from 'bun:test'
import { command, encodeCommandHead, RespWriter, type OutgoingCommand } from '../../src/lib/resp-encode'

/** RESP as the protocol spells it, argument by argument: what the writer must produce. */
function expected(name: string, args: readonly (string | number)[]): string {
  const all = [name, ...args.map(String)]
  return `*${all.length}\r\n${all.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`
}

function written(commands: OutgoingCommand[], bytes?: number): { text: string; pieces: number } {
  const parts: Buffer[] = []
  // Copied: the writer reuses its buffer once `out` returns.
  new RespWriter((b) => parts.push(Buffer.from(b)), bytes).write(commands)
  return { text: Buffer.concat(parts).toString('utf8'), pieces: parts.length }
}

const ARGS: (string | number)[][] = [
  [],
  ['key', 0, 7, 10, 99, 1_000, 1_764_590_000_123],
  // Either side of where whole numbers are split (10^9) and of an int32.
  ['splits', 999_999_999, 1_000_000_000, 1_000_000_001, 1_000_000_010, 2 ** 31 - 1, 2 ** 31, 2 ** 32 + 5, 10 ** 15, 9_000_000_000_000_007],
  ['negative and fractions', -1, -250, 0.5, 1e21, Number.MAX_SAFE_INTEGER],
  ['ünïcode ✓ 𝄞', '', 'x'.repeat(300)],
  [JSON.stringify({ requestId: 'req_abc', note: 'é'.repeat(100) })],
]

test('each kind of argument is encoded as RESP spells it', () => {
  for (const args of ARGS) expect(written([command('CMD', args)]).text).toBe(expected('CMD', args))
})

test('a batch comes out in order, whatever the buffer size: pieces cut between and inside commands, and arguments longer than the buffer', () => {
  const commands = ARGS.map((args, i) => command(`C${i}`, args))
  const whole = ARGS.map((args, i) => expected(`C${i}`, args)).join('')
  for (const bytes of [64, 100, 333, 64 * 1024]) {
    const { text, pieces } = written(commands, bytes)
    expect(text).toBe(whole)
    if (bytes < 333) expect(pieces).toBeGreaterThan(ARGS.length)
  }
  // One batch that fits is one write.
  expect(written(commands).pieces).toBe(1)
})

test('an argument longer than the buffer goes out in one write with what the buffer held before it', () => {
  // A usage batch past the buffer (66 KB seen under load) went out in four writes, each a wake-up of Redis.
  const batch = JSON.stringify({ records: Array.from({ length: 200 }, (_, i) => ({ requestId: `req_${i}`, note: 'é✓'.repeat(100) })) })
  const commands = [command('RPUSH', ['{mw}:usage-inbox', batch]), command('EVALSHA', ['a'.repeat(40), 1, '{a:acct}:list', 1_764_590_000_123])]
  const { text, pieces } = written(commands, 64 * 1024)
  expect(Buffer.byteLength(batch)).toBeGreaterThan(64 * 1024)
  expect(text).toBe(expected('RPUSH', ['{mw}:usage-inbox', batch]) + expected('EVALSHA', ['a'.repeat(40), 1, '{a:acct}:list', 1_764_590_000_123]))
  expect(pieces).toBe(2)
})

test('every whole number up to 2^53 comes out as String() spells it (seeded)', () => {
  let seed = 42
  const next = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31)
  const numbers = Array.from({ length: 5_000 }, () => Math.floor(next() * 10 ** Math.floor(next() * 16)))
  numbers.push(Number.MAX_SAFE_INTEGER, 2 ** 53 - 1_000_000_000, 1_000_000_000 * 9_007_199)
  expect(written([command('N', numbers)]).text).toBe(expected('N', numbers))
})

test('a kept head with the rest of the arguments added is the same command', () => {
  const sha = 'a'.repeat(40)
  const keys = ['{a:acct}:holds', '{a:acct}:hexp']
  const rest = ['req_1', '{"x":1}', 1_764_590_000_123, 86_400_000]
  const head = encodeCommandHead('EVALSHA', [sha, keys.length, ...keys], 2 + keys.length + rest.length)
  expect(written([{ head, args: rest }]).text).toBe(expected('EVALSHA', [sha, keys.length, ...keys, ...rest]))
})
