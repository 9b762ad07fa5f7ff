// TypeBox models of the Anthropic Messages API request and its count_tokens body: known fields typed, unknown fields kept for pass-through.
import { t, type Static } from 'elysia'

const open = { additionalProperties: true } as const
/** The largest output cap a client may write (a 32-bit integer); the model's max output caps it in any case. */
const MAX_OUTPUT_FIELD = 2_147_483_647

/** A content block as clients send it: its `type` decides the rest, read where it is used. */
const ContentBlock = t.Object({ type: t.String({ minLength: 1 }) }, open)

const Message = t.Object(
  {
    role: t.Union([t.Literal('user'), t.Literal('assistant'), t.Literal('system')]),
    content: t.Union([t.String(), t.Array(ContentBlock)]),
  },
  open,
)

const TextBlock = t.Object({ type: t.String({ minLength: 1 }), text: t.Optional(t.String()) }, open)

/** Client tools (name, description, input_schema) and Anthropic's server tools (type, name). */
const Tool = t.Object(
  {
    name: t.String({ minLength: 1 }),
    type: t.Optional(t.String()),
    description: t.Optional(t.String()),
    input_schema: t.Optional(t.Record(t.String(), t.Unknown())),
  },
  open,
)

const ToolChoice = t.Object(
  { type: t.String({ minLength: 1 }), name: t.Optional(t.String()), disable_parallel_tool_use: t.Optional(t.Boolean()) },
  open,
)

const prompt = {
  model: t.String({ minLength: 1 }),
  messages: t.Array(Message, { minItems: 1 }),
  system: t.Optional(t.Union([t.String(), t.Array(TextBlock)])),
  tools: t.Optional(t.Array(Tool)),
  tool_choice: t.Optional(ToolChoice),
}

export const MessagesModel = {
  request: t.Object(
    {
      ...prompt,
      max_tokens: t.Integer({ minimum: 1, maximum: MAX_OUTPUT_FIELD }),
      stream: t.Optional(t.Boolean()),
      temperature: t.Optional(t.Number({ minimum: 0, maximum: 1 })),
      top_p: t.Optional(t.Number({ minimum: 0, maximum: 1 })),
      top_k: t.Optional(t.Integer({ minimum: 0 })),
      stop_sequences: t.Optional(t.Array(t.String())),
      metadata: t.Optional(t.Object({ user_id: t.Optional(t.Union([t.String(), t.Null()])) }, open)),
    },
    { ...open, description: 'Anthropic Messages API request; fields not listed pass through to Anthropic.' },
  ),
  countTokens: t.Object(prompt, { ...open, description: 'Anthropic count_tokens request: the prompt of a Messages API request.' }),
  countTokensAnswer: t.Object({ input_tokens: t.Integer({ minimum: 0 }) }),
}

export type MessagesRequest = Static<typeof MessagesModel.request>
export type CountTokensRequest = Static<typeof MessagesModel.countTokens>
export type MessagesMessage = MessagesRequest['messages'][number]
