// TypeBox models of the OpenAI Chat Completions request: known fields typed, unknown fields kept for pass-through.
import { t, type Static } from 'elysia'

const open = { additionalProperties: true } as const
/** The largest output cap a client may write (a 32-bit integer, as the providers take it). */
const MAX_OUTPUT_FIELD = 2_147_483_647
const nullable = <T extends Parameters<typeof t.Union>[0][number]>(schema: T) => t.Optional(t.Union([schema, t.Null()]))

const ContentPart = t.Object({ type: t.String({ minLength: 1 }) }, open)

const ToolCall = t.Object(
  {
    id: t.String(),
    type: t.Optional(t.String()),
    function: t.Object({ name: t.String(), arguments: t.String() }, open),
  },
  open,
)

const Message = t.Object(
  {
    role: t.Union([t.Literal('system'), t.Literal('developer'), t.Literal('user'), t.Literal('assistant'), t.Literal('tool'), t.Literal('function')]),
    content: nullable(t.Union([t.String(), t.Array(ContentPart)])),
    name: t.Optional(t.String()),
    tool_calls: t.Optional(t.Array(ToolCall)),
    tool_call_id: t.Optional(t.String()),
  },
  open,
)

const Tool = t.Object(
  {
    type: t.String(),
    function: t.Object(
      {
        name: t.String({ minLength: 1 }),
        description: t.Optional(t.String()),
        parameters: t.Optional(t.Record(t.String(), t.Unknown())),
      },
      open,
    ),
  },
  open,
)

const ToolChoice = t.Union([
  t.String(),
  t.Object({ type: t.String(), function: t.Optional(t.Object({ name: t.String() }, open)) }, open),
])

export const ChatModel = {
  request: t.Object(
    {
      model: t.String({ minLength: 1 }),
      messages: t.Array(Message, { minItems: 1 }),
      stream: nullable(t.Boolean()),
      stream_options: nullable(t.Object({ include_usage: t.Optional(t.Boolean()) }, open)),
      // Capped at the model's max output, so any size up to this works; beyond it is not a number of tokens but an attack.
      max_tokens: nullable(t.Integer({ minimum: 1, maximum: MAX_OUTPUT_FIELD })),
      max_completion_tokens: nullable(t.Integer({ minimum: 1, maximum: MAX_OUTPUT_FIELD })),
      temperature: nullable(t.Number({ minimum: 0, maximum: 2 })),
      top_p: nullable(t.Number({ minimum: 0, maximum: 1 })),
      n: nullable(t.Integer({ minimum: 1, maximum: 128 })),
      stop: nullable(t.Union([t.String(), t.Array(t.String(), { maxItems: 4 })])),
      presence_penalty: nullable(t.Number({ minimum: -2, maximum: 2 })),
      frequency_penalty: nullable(t.Number({ minimum: -2, maximum: 2 })),
      seed: nullable(t.Integer()),
      tools: t.Optional(t.Array(Tool)),
      tool_choice: t.Optional(ToolChoice),
      parallel_tool_calls: t.Optional(t.Boolean()),
      response_format: t.Optional(t.Object({ type: t.String() }, open)),
      user: t.Optional(t.String()),
    },
    { ...open, description: 'OpenAI Chat Completions request; fields not listed pass through to OpenAI-compatible upstreams.' },
  ),
}

export type ChatRequest = Static<typeof ChatModel.request>
export type ChatMessage = ChatRequest['messages'][number]
export type ChatTool = NonNullable<ChatRequest['tools']>[number]
