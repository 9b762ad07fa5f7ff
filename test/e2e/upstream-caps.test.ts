// The output cap the upstream receives: exactly one field, the provider's own, equal to what the hold covers.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Sql } from '../../src/lib/db'
import { buildCatalog, type CatalogModel } from '../../src/pricing/catalog'
import { testDb, uniqueId } from '../helpers/db'
import { startGateway, TEST_KEY, upstreamEnv, type TestGateway } from '../helpers/gateway'
import { hostileMarker, startHostileUpstream, type HostileUpstream, type ReceivedRequest } from '../helpers/hostile-upstream'
import { chat, NANO_PER_USD, registerAgent } from '../helpers/money'

let upstream: HostileUpstream
let gateway: TestGateway
let sql: Sql

beforeAll(async () => {
  upstream = startHostileUpstream()
  gateway = await startGateway(upstreamEnv(upstream.url))
  sql = await testDb(2)
})
afterAll(async () => {
  await gateway.stop()
  await sql.end()
  upstream.stop()
})

const catalog = buildCatalog()
const MODELS = ['openai/gpt-4o', 'openai/o3-mini', 'anthropic/claude-sonnet-4', 'google/gemini-2.0-flash']

interface CapVariant {
  name: string
  fields(model: CatalogModel): { max_tokens?: number; max_completion_tokens?: number }
}

const VARIANTS: CapVariant[] = [
  { name: 'max_tokens', fields: () => ({ max_tokens: 300 }) },
  { name: 'max_completion_tokens', fields: () => ({ max_completion_tokens: 200 }) },
  { name: 'both, conflicting (max_tokens 1000, max_completion_tokens 10)', fields: () => ({ max_tokens: 1_000, max_completion_tokens: 10 }) },
  { name: 'neither', fields: () => ({}) },
  { name: "max_tokens above the model's max output", fields: (model) => ({ max_tokens: model.maxOutputTokens * 2 }) },
]

/** min(max(max_tokens, max_completion_tokens) or the catalog default, the model's max output). */
function expectedCap(model: CatalogModel, fields: { max_tokens?: number; max_completion_tokens?: number }): number {
  const asked = [fields.max_tokens, fields.max_completion_tokens].filter((v): v is number => v !== undefined)
  return Math.min(asked.length > 0 ? Math.max(...asked) : model.defaultMaxTokens, model.maxOutputTokens)
}

/** Every output-cap field the upstream body carries, wherever a provider could read one. */
function capFieldsSent(request: ReceivedRequest): Record<string, unknown> {
  const fields: Record<string, unknown> = {}
  for (const name of ['max_tokens', 'max_completion_tokens', 'max_output_tokens', 'maxOutputTokens']) {
    if (name in request.body) fields[name] = request.body[name]
  }
  const config = request.body.generationConfig as Record<string, unknown> | undefined
  for (const name of ['maxOutputTokens', 'max_output_tokens']) {
    if (config && name in config) fields[`generationConfig.${name}`] = config[name]
  }
  return fields
}

/** The provider's own field: OpenAI max_completion_tokens, Anthropic max_tokens, Gemini generationConfig.maxOutputTokens. */
function providerField(model: CatalogModel): string {
  if (model.provider === 'openai') return 'max_completion_tokens'
  if (model.provider === 'anthropic') return 'max_tokens'
  return 'generationConfig.maxOutputTokens'
}

/** Sends one request tagged for the fake and returns the cap fields the upstream received. */
async function capsReceived(apiKey: string, body: Record<string, unknown>) {
  const tag = uniqueId('cap')
  const reply = await chat(gateway.url, apiKey, { ...body, messages: [{ role: 'user', content: `Say hello. ${hostileMarker('brief', { tag })}` }] })
  expect(`${reply.status} ${reply.code ?? ''}`.trim()).toBe('200')
  const received = upstream.tagged(tag)
  expect(received).toHaveLength(1)
  return capFieldsSent(received[0]!)
}

for (const id of MODELS) {
  const model = catalog.find(id)!
  for (const stream of [false, true]) {
    describe(`${id}, ${stream ? 'streaming' : 'JSON'}`, () => {
      for (const variant of VARIANTS) {
        const fields = variant.fields(model)
        const cap = expectedCap(model, fields)
        test(`${variant.name}: sends only ${providerField(model)} = ${cap}`, async () => {
          expect(await capsReceived(TEST_KEY, { model: id, stream, ...fields })).toEqual({ [providerField(model)]: cap })
        }, 30_000)
      }
    })
  }
}

// A prepaid stream without max_tokens holds progressively, but the upstream is still held to the same cap.
describe('a prepaid stream without max_tokens (a progressive hold), on a wallet of $10', () => {
  for (const id of MODELS) {
    const model = catalog.find(id)!
    const cap = expectedCap(model, {})
    test(`${id}: sends only ${providerField(model)} = ${cap}`, async () => {
      const agent = await registerAgent(gateway.url, sql, { mode: 'prepaid', creditNano: 10n * NANO_PER_USD })
      expect(await capsReceived(agent.apiKey, { model: id, stream: true })).toEqual({ [providerField(model)]: cap })
    }, 30_000)
  }
})
