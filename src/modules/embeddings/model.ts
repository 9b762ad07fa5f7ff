// TypeBox model of OpenAI's embeddings request: known fields typed, unknown fields kept for pass-through.
import { t, type Static } from 'elysia'

const open = { additionalProperties: true } as const
const TokenId = t.Integer({ minimum: 0, maximum: 4_294_967_295 })

export const EmbeddingsModel = {
  request: t.Object(
    {
      model: t.String({ minLength: 1, description: 'an embedding model of GET /v1/models, e.g. openai/text-embedding-3-small' }),
      input: t.Union([t.String(), t.Array(t.String()), t.Array(TokenId), t.Array(t.Array(TokenId))], {
        description: 'a string, an array of strings, or (openai/* and mock/embed) an array of token ids or of such arrays',
      }),
      encoding_format: t.Optional(t.Union([t.Literal('float'), t.Literal('base64')])),
      dimensions: t.Optional(t.Integer({ minimum: 1, maximum: 65_536 })),
      user: t.Optional(t.String()),
    },
    open,
  ),
}

export type EmbeddingsRequest = Static<typeof EmbeddingsModel.request>
