// The wallet balance shared by every useBalance() and <CreditBalance/> under one provider: one fetch, one state, and polling until it changes.
import type { Balance, MeterwayClient } from '@meterway/client'

export interface BalanceState {
  balance: string | null
  currency: string
  recentLedger: Balance['recent_ledger']
  loading: boolean
  error: Error | null
}

export interface RefetchUntilChangeOptions {
  /** Give up after this long (default 30 s); resolves with the balance as it is then. */
  timeoutMs?: number
  /** Between two reads (default 1 s). */
  intervalMs?: number
}

const INITIAL: BalanceState = { balance: null, currency: 'USD', recentLedger: [], loading: true, error: null }

export class BalanceStore {
  private state: BalanceState = INITIAL
  private readonly listeners = new Set<() => void>()
  private started = false

  constructor(private readonly client: () => MeterwayClient) {}

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener)
    if (!this.started) {
      this.started = true
      void this.refetch()
    }
    return () => this.listeners.delete(listener)
  }

  snapshot = (): BalanceState => this.state

  private set(next: Partial<BalanceState>): void {
    this.state = { ...this.state, ...next }
    for (const listener of this.listeners) listener()
  }

  /** Reads the balance now. */
  refetch = async (): Promise<string | null> => {
    try {
      const read = await this.client().getBalance()
      this.set({ balance: read.balance_usd, currency: read.currency, recentLedger: read.recent_ledger, loading: false, error: null })
      return read.balance_usd
    } catch (error) {
      this.set({ loading: false, error: error as Error })
      return this.state.balance
    }
  }

  /**
   * Polls until the balance differs from what it was when called (a top-up is credited when Stripe's webhook
   * reaches the gateway, a moment after the payment is confirmed). Resolves with the new balance.
   */
  refetchUntilChange = async (options: RefetchUntilChangeOptions = {}): Promise<string | null> => {
    const before = this.state.balance
    const deadline = Date.now() + (options.timeoutMs ?? 30_000)
    for (;;) {
      const now = await this.refetch()
      if (now !== before || Date.now() >= deadline) return now
      await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 1_000))
    }
  }
}
