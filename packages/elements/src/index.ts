// @meterway/elements: React components and hooks for an end user's Meterway session (chat, balance, buying credits).
export { BuyCredits, type BuyCreditsProps } from './buy-credits'
export { Chat, type ChatProps } from './chat'
export { MeterwayProvider, useMeterway, type MeterwayContextValue, type MeterwayProviderProps, type StripeLoader } from './context'
export { CreditBalance } from './credit-balance'
export { formatUsd } from './format'
export { useBalance, useChat, type ChatTurn, type UseBalance, type UseChat } from './hooks'
export { modeMismatch, type ProviderMode } from './mode'
export type { RefetchUntilChangeOptions } from './balance'
