// The TypeBox shape of a gateway config file (gateway, wallets, accepts, facilitator, upstreams, routes, defaults, models).
import { Type, type Static } from '@sinclair/typebox'

/** Prices are checked by parsePrice (exact decimals, a clear message), so the shape only says where they go. */
const PriceField = Type.Unknown({ description: 'a price such as "$0.005"' })
const Headers = Type.Record(Type.String(), Type.String({ description: 'a header value (a string)' }), { description: 'a map of header name to value' })
const Text = (description: string) => Type.String({ minLength: 1, description })

const Gateway = Type.Object(
  {
    port: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535, description: 'a port number, 0 to 65535' })),
    discovery: Type.Optional(Type.Boolean({ description: 'true or false' })),
    x402_chat: Type.Optional(Type.Boolean({ description: 'true or false' })),
    x402_chat_markup: Type.Optional(Type.Unknown({ description: 'a percentage such as "20%"' })),
    cors_origins: Type.Optional(Type.Array(Type.String(), { description: 'a list of origins such as "https://app.example.com", or ["*"]' })),
  },
  { additionalProperties: false },
)

const Accept = Type.Object(
  { asset: Text('an asset such as USDC'), network: Text('a network such as base') },
  { additionalProperties: false },
)

const Facilitator = Type.Object({ url: Text('an http(s) URL'), headers: Type.Optional(Headers) }, { additionalProperties: false })

const Upstream = Type.Object(
  {
    url: Text('an http(s) URL'),
    headers: Type.Optional(Headers),
    timeout: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 3600, description: 'seconds, above 0 and at most 3600' })),
  },
  { additionalProperties: false },
)

const MatchRule = Type.Object(
  {
    where: Type.Record(Type.String(), Type.String({ description: 'a glob such as "claude-haiku-*"' }), { description: 'a map of body.x, query.x, headers.x or params.x to a glob' }),
    price: PriceField,
  },
  { additionalProperties: false },
)

const Route = Type.Object(
  {
    upstream: Text('the name of an upstream'),
    path: Type.Optional(Type.String({ pattern: '^/', description: 'a path starting with /' })),
    type: Type.Optional(Type.String({ description: 'token-based, openai-compatible or metered' })),
    price: Type.Optional(PriceField),
    match: Type.Optional(Type.Array(MatchRule, { minItems: 1, description: 'a list of {where, price} rules' })),
    fallback: Type.Optional(PriceField),
    models: Type.Optional(Type.Record(Type.String(), PriceField, { description: 'a map of model name to price' })),
    /** Checked by parseMarkup (exact, a clear message). */
    markup: Type.Optional(Type.Unknown({ description: 'a percentage such as "20%" (type: metered only)' })),
  },
  { additionalProperties: false },
)

export const GatewayFileSchema = Type.Object(
  {
    gateway: Type.Optional(Gateway),
    wallets: Type.Optional(Type.Record(Type.String(), Type.String({ description: 'a wallet address such as 0xabc…' }), { description: 'a map of network to wallet address' })),
    accepts: Type.Optional(Type.Array(Accept, { description: 'a list of {asset, network}' })),
    facilitator: Type.Optional(Facilitator),
    upstreams: Type.Optional(Type.Record(Type.String(), Upstream, { description: 'a map of upstream name to {url, headers, timeout}' })),
    routes: Type.Optional(Type.Record(Type.String(), Route, { description: 'a map of "METHOD /path" to a route' })),
    defaults: Type.Optional(Type.Object({ price: Type.Optional(PriceField) }, { additionalProperties: false })),
    // Catalog overrides: buildCatalog validates them entry by entry and names the field.
    models: Type.Optional(Type.Array(Type.Unknown(), { description: 'a list of catalog entries (see Models and money)' })),
  },
  { additionalProperties: false },
)

export type GatewayFileData = Static<typeof GatewayFileSchema>
