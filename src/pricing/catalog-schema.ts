// The TypeBox shape of a catalog entry and of an override (a config file's `models:` section), and the checks every entry passes at load.
import { Type, type Static, type TSchema } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import type { CatalogEntryData } from './catalog-data'

/** A catalog that cannot be loaded: the message names the entry and the field. */
export class CatalogError extends Error {
  override name = 'CatalogError'
}

const Usd = Type.String({ pattern: '^\\d+(\\.\\d{1,9})?$', description: 'USD per 1M tokens, a decimal string with at most 9 decimals' })
const Tokens = Type.Integer({ minimum: 1, maximum: 100_000_000 })
/** Limits that are 0 where they do not apply (an image model has no context window; an embedding model no output). */
const Limit = Type.Integer({ minimum: 0, maximum: 100_000_000 })
const ModelId = Type.String({ pattern: '^[a-z0-9-]+/[A-Za-z0-9._:-]+$', maxLength: 200 })

const UsdPer1MSchema = Type.Object(
  { input: Usd, output: Usd, cachedInput: Type.Optional(Usd), cacheWrite: Type.Optional(Usd), imageInput: Type.Optional(Usd), imageOutput: Type.Optional(Usd) },
  { additionalProperties: false },
)
const ImageLabel = Type.String({ pattern: '^[a-z0-9]+$', maxLength: 20 })
const ImageSize = Type.String({ pattern: '^(\\d{1,5}x\\d{1,5}|auto)$' })
const byQualityAndSize = <T extends TSchema>(value: T) => Type.Record(ImageLabel, Type.Record(ImageSize, value))

const entryFields = {
  id: ModelId,
  upstreamModel: Type.String({ minLength: 1, maxLength: 200 }),
  contextWindow: Limit,
  maxOutputTokens: Limit,
  defaultMaxTokens: Limit,
  usdPer1M: UsdPer1MSchema,
  longContext: Type.Optional(Type.Object({ aboveInputTokens: Tokens, usdPer1M: UsdPer1MSchema }, { additionalProperties: false })),
  hiddenReasoning: Type.Optional(Type.Literal(true)),
  imageMaxTokens: Type.Optional(Type.Object({ low: Tokens, high: Tokens }, { additionalProperties: false })),
  aliases: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { maxItems: 20 })),
  source: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
  kind: Type.Optional(Type.Union([Type.Literal('chat'), Type.Literal('embedding'), Type.Literal('image')])),
  usdPerImage: Type.Optional(byQualityAndSize(Usd)),
  imageOutputTokens: Type.Optional(byQualityAndSize(Tokens)),
  imageLimits: Type.Optional(
    Type.Object(
      { maxImages: Tokens, maxPromptChars: Tokens, defaultQuality: ImageLabel, defaultSize: ImageSize, acceptsAuto: Type.Boolean() },
      { additionalProperties: false },
    ),
  ),
}

export const CatalogEntrySchema = Type.Object(entryFields, { additionalProperties: false })

/** An override: the id, then any fields to change; a new id must carry every required field. Prices merge field by field. */
export const CatalogOverrideSchema = Type.Object(
  {
    ...entryFields,
    upstreamModel: Type.Optional(entryFields.upstreamModel),
    contextWindow: Type.Optional(Limit),
    maxOutputTokens: Type.Optional(Limit),
    defaultMaxTokens: Type.Optional(Limit),
    usdPer1M: Type.Optional(Type.Partial(UsdPer1MSchema, { additionalProperties: false })),
  },
  { additionalProperties: false },
)
export const CatalogOverridesSchema = Type.Array(CatalogOverrideSchema, { maxItems: 10_000 })
export type CatalogOverride = Static<typeof CatalogOverrideSchema>

// The data's TypeScript interface and the schema describe the same thing: this fails to compile when they drift.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
const schemaMatchesData: [Same<Static<typeof CatalogEntrySchema>, CatalogEntryData>, Same<keyof Static<typeof CatalogEntrySchema>, keyof CatalogEntryData>] = [true, true]
void schemaMatchesData

function firstError(schema: Parameters<typeof Value.Errors>[0], value: unknown): string | null {
  const error = Value.Errors(schema, value).First()
  return error ? `${error.path || '/'}: ${error.message}` : null
}

/** Throws a CatalogError naming the entry and field unless `value` is an array of valid overrides. */
export function assertOverrides(value: unknown): asserts value is CatalogOverride[] {
  if (!Array.isArray(value)) throw new CatalogError('catalog overrides: expected a list of model entries')
  value.forEach((item, index) => {
    const error = firstError(CatalogOverrideSchema, item)
    const id = typeof (item as { id?: unknown } | null)?.id === 'string' ? (item as { id: string }).id : `#${index}`
    if (error) throw new CatalogError(`catalog override ${id}: ${error}`)
  })
}

/** Throws a CatalogError naming the entry and field unless the entry is complete and consistent. */
export function assertEntry(entry: unknown): asserts entry is CatalogEntryData {
  const id = typeof (entry as { id?: unknown } | null)?.id === 'string' ? (entry as { id: string }).id : '(no id)'
  const error = firstError(CatalogEntrySchema, entry)
  if (error) throw new CatalogError(`catalog entry ${id}: ${error}`)
  const e = entry as CatalogEntryData
  if ((e.kind ?? 'chat') === 'chat') {
    for (const field of ['contextWindow', 'maxOutputTokens', 'defaultMaxTokens'] as const) {
      if (e[field] < 1) throw new CatalogError(`catalog entry ${id}: /${field}: a chat model needs at least 1`)
    }
  }
  if (e.maxOutputTokens > e.contextWindow) throw new CatalogError(`catalog entry ${id}: maxOutputTokens is above contextWindow`)
  if (e.longContext && e.longContext.aboveInputTokens >= e.contextWindow) {
    throw new CatalogError(`catalog entry ${id}: longContext.aboveInputTokens must be below contextWindow`)
  }
}
