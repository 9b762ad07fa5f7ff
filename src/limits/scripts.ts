// The admission Lua scripts, read once at boot and registered on a Redis client (EVALSHA, loaded on first use).
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type Redis from 'ioredis'

const SCRIPTS = ['admit-6', 'settle-7', 'extend-hold-3', 'load-wallet-4', 'credit-1', 'post-usage-3'] as const
type ScriptName = (typeof SCRIPTS)[number]

export type ScriptReply = (string | number)[]

/** Runs a registered script: keys first, then arguments. */
export type ScriptRunner = (name: ScriptName, keys: string[], args: (string | number)[]) => Promise<ScriptReply>

const sources = new Map<ScriptName, { lua: string; numberOfKeys: number }>(
  SCRIPTS.map((name) => [name, { lua: readFileSync(join(import.meta.dir, 'scripts', `${name}.lua`), 'utf8'), numberOfKeys: Number(name.split('-').at(-1)) }]),
)

export function registerScripts(redis: Redis): ScriptRunner {
  for (const [name, { lua, numberOfKeys }] of sources) redis.defineCommand(name, { lua, numberOfKeys })
  const commands = redis as unknown as Record<ScriptName, (...parts: (string | number)[]) => Promise<ScriptReply>>
  return (name, keys, args) => commands[name](...keys, ...args)
}
