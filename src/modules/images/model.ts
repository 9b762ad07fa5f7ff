// TypeBox model of OpenAI's image generation request: known fields typed, unknown fields kept for pass-through.
import { t, type Static } from 'elysia'

const open = { additionalProperties: true } as const

export const ImagesModel = {
  request: t.Object(
    {
      model: t.String({ minLength: 1, description: 'an image model of GET /v1/models, e.g. openai/gpt-image-1' }),
      prompt: t.String({ description: 'what to draw' }),
      n: t.Optional(t.Integer({ minimum: 1, maximum: 128, description: 'images to make (the model says how many it takes)' })),
      size: t.Optional(t.String({ description: "one of the model's sizes, e.g. 1024x1024" })),
      quality: t.Optional(t.String({ description: "one of the model's qualities, e.g. standard, hd, low, medium, high" })),
      response_format: t.Optional(t.Union([t.Literal('url'), t.Literal('b64_json')])),
      stream: t.Optional(t.Boolean()),
      user: t.Optional(t.String()),
    },
    open,
  ),
}

export type ImagesRequest = Static<typeof ImagesModel.request>
