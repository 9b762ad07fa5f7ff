// MeterwayClient: an end user's session token against the gateway, refreshed before it expires and once on 401 session_expired; chat streams, balance, top-ups, config.
import { errorFromResponse, MeterwayClientError } from './errors'
import { normaliseSession, type ClientSession, type SessionInput } from './session'
import { chatDeltas } from './sse'
import type { Balance, ChatMessage, ChatRequest, ChatResponse, EmbeddingsRequest, EmbeddingsResponse, GatewayConfig, ImageRequest, ImageResponse, TopUp } from './types'

export interface MeterwayClientOptions {
  session: SessionInput
  /** Gets a new session (usually from your backend, which mints it with its secret key). Without it, the gateway's POST /v1/sessions/refresh is used. */
  refresh?: () => Promise<SessionInput>
  /** The gateway, e.g. `https://gateway.example.com` (default: the page's own origin). */
  baseUrl?: string
  /** Refresh this long before expiry (default: 60 s, or half the session's life when it was received if that is shorter). */
  refreshBeforeMs?: number
  /** Refresh on a timer too, not only before a request (default true). */
  autoRefresh?: boolean
  /** Called with every new session (after a refresh). */
  onSession?: (session: ClientSession) => void
  fetch?: typeof fetch
}

const DEFAULT_REFRESH_BEFORE_MS = 60_000

export class MeterwayClient {
  readonly baseUrl: string
  private current: ClientSession
  private margin: number
  private refreshing: Promise<ClientSession> | null = null
  private timer: ReturnType<typeof setTimeout> | null = null
  private timed: boolean
  private readonly options: MeterwayClientOptions
  private readonly fetcher: typeof fetch

  constructor(options: MeterwayClientOptions) {
    this.options = options
    const origin = (globalThis as { location?: { origin?: string } }).location?.origin
    const base = options.baseUrl ?? origin
    if (!base) throw new TypeError('MeterwayClient needs a baseUrl outside a browser page.')
    this.baseUrl = base.replace(/\/+$/, '')
    this.fetcher = options.fetch ?? (((...args: Parameters<typeof fetch>) => fetch(...args)) as typeof fetch)
    this.current = normaliseSession(options.session)
    this.margin = this.marginFor(this.current)
    this.timed = options.autoRefresh !== false
    this.schedule()
  }

  /** The session in use now. */
  get session(): ClientSession {
    return { ...this.current }
  }

  /** Stops the refresh timer (the client still works; it refreshes before requests). */
  close(): void {
    this.timed = false
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
  }

  /** (Re)starts the refresh timer, e.g. after close() or for a client made with autoRefresh: false. */
  start(): void {
    this.timed = true
    this.schedule()
  }

  /** Gets a new session now (concurrent callers share one refresh). */
  refreshSession(): Promise<ClientSession> {
    this.refreshing ??= this.fetchNewSession().finally(() => {
      this.refreshing = null
    })
    return this.refreshing
  }

  /** A chat completion's text, as an async iterator of deltas. */
  async *stream(request: ChatRequest): AsyncGenerator<string> {
    const { signal, ...body } = request
    const response = await this.request('POST', '/v1/chat/completions', { ...body, stream: true }, signal)
    if (!response.body) throw new MeterwayClientError('The stream had no body', response.status, 'invalid_stream')
    yield* chatDeltas(response.body)
  }

  /** A whole chat completion (not streamed), as the gateway answers it (OpenAI's shape). */
  async chat(request: ChatRequest): Promise<ChatResponse> {
    const { signal, ...body } = request
    return (await this.request('POST', '/v1/chat/completions', { ...body, stream: false }, signal)).json() as Promise<ChatResponse>
  }

  /** Generates images (OpenAI's request and answer), paid from the session's wallet: held at the worst case, billed the actual. */
  async image(request: ImageRequest): Promise<ImageResponse> {
    const { signal, ...body } = request
    return (await this.request('POST', '/v1/images/generations', body, signal)).json() as Promise<ImageResponse>
  }

  /** Embeds text (OpenAI's request and answer), paid from the session's wallet per input token. */
  async embeddings(request: EmbeddingsRequest): Promise<EmbeddingsResponse> {
    const { signal, ...body } = request
    return (await this.request('POST', '/v1/embeddings', body, signal)).json() as Promise<EmbeddingsResponse>
  }

  async getBalance(): Promise<Balance> {
    return (await this.request('GET', '/v1/wallet/balance')).json() as Promise<Balance>
  }

  /** Starts a top-up of `amount` USD (a number or a decimal string): a PaymentIntent to confirm with Stripe.js. */
  async createTopUp(amount: number | string, options: { idempotencyKey?: string } = {}): Promise<TopUp> {
    const amountUsd = typeof amount === 'number' ? amount.toFixed(2) : amount
    const headers = options.idempotencyKey ? { 'idempotency-key': options.idempotencyKey } : undefined
    return (await this.request('POST', '/v1/wallet/top-up', { amount_usd: amountUsd }, undefined, headers)).json() as Promise<TopUp>
  }

  async getConfig(): Promise<GatewayConfig> {
    return (await this.request('GET', '/v1/config')).json() as Promise<GatewayConfig>
  }

  /** One authenticated call: a fresh enough token first, and once more with a new one after 401 session_expired. */
  private async request(method: string, path: string, body?: unknown, signal?: AbortSignal, headers?: Record<string, string>): Promise<Response> {
    if (this.current.expiresAt - Date.now() <= this.margin) await this.refreshSession()
    let response = await this.send(method, path, body, signal, headers)
    if (response.status === 401) {
      const error = await errorFromResponse(response)
      if (error.code !== 'session_expired') throw error
      await this.refreshSession()
      response = await this.send(method, path, body, signal, headers)
    }
    if (!response.ok) throw await errorFromResponse(response)
    return response
  }

  private async send(method: string, path: string, body: unknown, signal: AbortSignal | undefined, headers: Record<string, string> = {}): Promise<Response> {
    try {
      return await this.fetcher(`${this.baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.current.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        ...(signal ? { signal } : {}),
      })
    } catch (error) {
      if ((error as Error)?.name === 'AbortError') throw error
      throw new MeterwayClientError(`Could not reach ${this.baseUrl}: ${(error as Error)?.message ?? error}`, 0, 'network_error')
    }
  }

  private async fetchNewSession(): Promise<ClientSession> {
    let next: ClientSession
    if (this.options.refresh) {
      next = normaliseSession(await this.options.refresh())
    } else {
      const response = await this.send('POST', '/v1/sessions/refresh', undefined, undefined)
      if (!response.ok) throw await errorFromResponse(response)
      next = normaliseSession((await response.json()) as SessionInput)
    }
    this.current = next
    this.margin = this.marginFor(next)
    this.schedule()
    this.options.onSession?.({ ...next })
    return next
  }

  /** The option as given; by default 60 s, but never more than half of what is left, so a short session is not refreshed on every call. */
  private marginFor(session: ClientSession): number {
    if (this.options.refreshBeforeMs !== undefined) return this.options.refreshBeforeMs
    return Math.min(DEFAULT_REFRESH_BEFORE_MS, Math.max(0, (session.expiresAt - Date.now()) / 2))
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    if (!this.timed) return
    const delay = Math.max(0, this.current.expiresAt - Date.now() - this.margin)
    this.timer = setTimeout(() => {
      this.timer = null
      // A failed timer refresh is retried before the next request.
      this.refreshSession().catch(() => {})
    }, delay)
    // Under Bun and Node a pending refresh must not keep the process alive.
    ;(this.timer as { unref?: () => void }).unref?.()
  }
}

export type { ChatMessage }
