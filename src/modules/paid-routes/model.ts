// What the paid routes document: the 402 answer (x402 v2 PaymentRequired plus our error) and the payment headers, for Swagger.
import { t } from 'elysia'

const Requirement = t.Object({
  scheme: t.Literal('exact'),
  network: t.String({ description: 'CAIP-2: eip155:8453 (Base) or eip155:84532 (Base Sepolia)' }),
  asset: t.String({ description: "that network's USDC contract" }),
  amount: t.String({ description: 'USDC atomic units (6 decimals): "5000" is $0.005' }),
  payTo: t.String(),
  maxTimeoutSeconds: t.Integer(),
  extra: t.Object({ name: t.String(), version: t.String() }, { description: "the token's EIP-712 domain" }),
})

export const PaidRoutesModel = {
  paymentRequired: t.Object(
    {
      x402Version: t.Literal(2),
      resource: t.Object({ url: t.String(), description: t.Optional(t.String()), mimeType: t.Optional(t.String()) }),
      accepts: t.Array(Requirement),
      error: t.Object({ message: t.String(), type: t.Literal('payment_error'), param: t.Null(), code: t.String({ description: 'payment_required, or why the payment was refused' }) }),
    },
    { description: 'The same as the PAYMENT-REQUIRED header (base64 JSON), with our error shape' },
  ),
}

export const paidRouteDetail = (key: string, upstream: string) => ({
  summary: `${key}: proxied to the ${upstream} upstream, paid per request with x402`,
  tags: ['paid routes'],
  description: 'Without PAYMENT-SIGNATURE (x402 v2) or X-PAYMENT (v1): 402 with PAYMENT-REQUIRED. With a valid payment: settled, then proxied; the answer carries PAYMENT-RESPONSE.',
  responses: {
    402: { description: 'Payment required or refused', content: { 'application/json': { schema: PaidRoutesModel.paymentRequired as never } } },
  },
})
