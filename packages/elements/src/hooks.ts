// useBalance() and useChat({ model }): the wallet (shared by the provider) and a streamed conversation.
import type { ChatMessage } from '@meterway/client'
import { useCallback, useRef, useState, useSyncExternalStore } from 'react'
import type { BalanceState, RefetchUntilChangeOptions } from './balance'
import { useMeterway } from './context'

export interface UseBalance extends BalanceState {
  refetch: () => Promise<string | null>
  /** Polls until the balance changes (after a purchase: the wallet is credited once Stripe's webhook lands). */
  refetchUntilChange: (options?: RefetchUntilChangeOptions) => Promise<string | null>
}

export function useBalance(): UseBalance {
  const { balance } = useMeterway()
  const state = useSyncExternalStore(balance.subscribe, balance.snapshot, balance.snapshot)
  return { ...state, refetch: balance.refetch, refetchUntilChange: balance.refetchUntilChange }
}

export interface ChatTurn {
  role: 'user' | 'assistant'
  content: string
}

export interface UseChat {
  turns: ChatTurn[]
  /** Sends a user message and streams the reply into the last turn. */
  send: (text: string) => Promise<void>
  streaming: boolean
  error: Error | null
  /** Stops the reply being streamed. */
  stop: () => void
  reset: () => void
}

export function useChat(options: { model: string; system?: string; maxTokens?: number }): UseChat {
  const { client, balance } = useMeterway()
  const [turns, setTurns] = useState<ChatTurn[]>([])
  const [streaming, setStreaming] = useState(false)
  const [error, setError] = useState<Error | null>(null)
  const history = useRef<ChatTurn[]>([])
  const abort = useRef<AbortController | null>(null)

  const send = useCallback(
    async (text: string) => {
      if (abort.current) return
      const asked: ChatTurn[] = [...history.current, { role: 'user', content: text }]
      history.current = [...asked, { role: 'assistant', content: '' }]
      setTurns(history.current)
      setError(null)
      setStreaming(true)
      const controller = new AbortController()
      abort.current = controller
      const messages: ChatMessage[] = [...(options.system ? [{ role: 'system' as const, content: options.system }] : []), ...asked]
      let reply = ''
      try {
        for await (const delta of client.stream({ model: options.model, messages, ...(options.maxTokens ? { max_tokens: options.maxTokens } : {}), signal: controller.signal })) {
          reply += delta
          history.current = [...asked, { role: 'assistant', content: reply }]
          setTurns(history.current)
        }
      } catch (caught) {
        if ((caught as Error)?.name !== 'AbortError') setError(caught as Error)
      } finally {
        abort.current = null
        setStreaming(false)
        // The reply was paid from the wallet.
        void balance.refetch()
      }
    },
    [client, balance, options.model, options.system, options.maxTokens],
  )

  const stop = useCallback(() => abort.current?.abort(), [])
  const reset = useCallback(() => {
    abort.current?.abort()
    history.current = []
    setTurns([])
    setError(null)
  }, [])
  return { turns, send, streaming, error, stop, reset }
}
