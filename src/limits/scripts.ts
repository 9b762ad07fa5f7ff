// The admission Lua scripts (and the x402 upto settlement ones), read once at boot (with their `--#include lib/…` parts), runnable on ioredis or on the hot path's client.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { RedisConnection } from '../lib/redis'

const SCRIPTS = [
  'admit-8',
  'admit-rate-1',
  'lease-rate-1',
  'settle-9',
  'float-back-3',
  'float-split-2',
  'settle-floats-6',
  'extend-hold-4',
  'checkpoint-4',
  'load-wallet-4',
  'credit-1',
  'reverse-1',
  'post-usage-4',
  'inspect-open-4',
  'settle-lost-7',
  'x402-claim-2',
  'x402-unpaid-1',
  // x402 upto payments: admitted (with the payer's bucket) and awaiting settlement (src/x402/upto-pending.ts).
  'upto-open-4',
  'upto-checkpoint-2',
  'upto-take-2',
  'upto-release-2',
] as const
export type ScriptName = (typeof SCRIPTS)[number]

export type ScriptReply = (string | number)[]

/** Runs a registered script: keys first, then arguments. */
export type ScriptRunner = (name: ScriptName, keys: string[], args: (string | number)[]) => Promise<ScriptReply>

const SCRIPT_DIR = join(import.meta.dir, 'scripts')

/** Redis runs one self-contained script: shared functions are pasted in where a script asks for them. */
function readScript(file: string): string {
  return readFileSync(join(SCRIPT_DIR, file), 'utf8').replace(/^--#include (\S+)$/gm, (_, part: string) => readScript(part))
}

export interface ScriptSource {
  lua: string
  numberOfKeys: number
  /** SHA-1 of the source, as EVALSHA names it. */
  sha: string
}

const sha1 = (text: string) => new Bun.CryptoHasher('sha1').update(text).digest('hex')

export const scriptSources: ReadonlyMap<ScriptName, ScriptSource> = new Map(
  SCRIPTS.map((name) => {
    const lua = readScript(`${name}.lua`)
    return [name, { lua, numberOfKeys: Number(name.split('-').at(-1)), sha: sha1(lua) }] as const
  }),
)

export function registerScripts(redis: RedisConnection): ScriptRunner {
  for (const [name, { lua, numberOfKeys }] of scriptSources) redis.defineCommand(name, { lua, numberOfKeys })
  const commands = redis as unknown as Record<ScriptName, (...parts: (string | number)[]) => Promise<ScriptReply>>
  return (name, keys, args) => commands[name](...keys, ...args)
}
