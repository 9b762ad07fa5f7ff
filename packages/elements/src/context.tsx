// <MeterwayProvider>: one MeterwayClient for the session (refreshed through fetchSession), the gateway's config, the shared balance, and the Stripe.js seam.
import { MeterwayClient, type ClientSession, type GatewayConfig, type SessionInput } from '@meterway/client'
import type { Appearance, Stripe } from '@stripe/stripe-js'
import { loadStripe as loadStripeJs } from '@stripe/stripe-js/pure'
import { createContext, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react'
import { BalanceStore } from './balance'
import { modeMismatch, type ProviderMode } from './mode'

/** How Stripe.js is obtained: @stripe/stripe-js's loadStripe by default; tests and offline development put a stand-in here. */
export type StripeLoader = (publishableKey: string) => Promise<Stripe | null>

export interface MeterwayProviderProps {
  /** The session your backend minted (`{ sessionToken, expiresAt }` from @meterway/server, or the gateway's JSON). */
  session: SessionInput
  /** Asks your backend for a new session; called about 60 s before expiry and after a 401 session_expired. */
  fetchSession: () => Promise<SessionInput>
  /** Must match the secret key that minted the session: "test" for sk_test_…, "live" (or "prod", the default) for sk_live_…. */
  mode?: ProviderMode
  /** Stripe Elements' appearance (`{ theme: 'stripe' | 'night' | 'flat', variables }`). */
  appearance?: Appearance
  /** The gateway (default: this page's origin). */
  baseUrl?: string
  /** The Stripe.js seam (see StripeLoader). */
  loadStripe?: StripeLoader
  /** Refresh this long before expiry (default 60 s). */
  refreshBeforeMs?: number
  children?: ReactNode
}

export interface MeterwayContextValue {
  client: MeterwayClient
  /** The session in use (changes on every refresh). */
  session: ClientSession
  mode: ProviderMode
  appearance: Appearance | undefined
  config: GatewayConfig | null
  configError: Error | null
  /** Null, or why payments cannot work with this provider (a mode mismatch). */
  modeError: string | null
  balance: BalanceStore
  /** Stripe.js for the gateway's publishable key, loaded once through the seam. */
  stripe: () => Promise<Stripe | null>
}

const MeterwayContext = createContext<MeterwayContextValue | null>(null)

export function useMeterway(): MeterwayContextValue {
  const value = useContext(MeterwayContext)
  if (!value) throw new Error('Meterway components and hooks must be inside <MeterwayProvider>.')
  return value
}

export function MeterwayProvider(props: MeterwayProviderProps) {
  const { mode = 'live', appearance, children } = props
  // The latest props for callbacks the client keeps (a new fetchSession each render must not make a new client).
  const latest = useRef(props)
  latest.current = props
  const [session, setSession] = useState<ClientSession | null>(null)
  const client = useMemo(
    () =>
      new MeterwayClient({
        session: props.session,
        refresh: () => latest.current.fetchSession(),
        ...(props.baseUrl ? { baseUrl: props.baseUrl } : {}),
        ...(props.refreshBeforeMs !== undefined ? { refreshBeforeMs: props.refreshBeforeMs } : {}),
        onSession: setSession,
        // The timer starts in the effect below: a client React makes and throws away (StrictMode) never refreshes.
        autoRefresh: false,
      }),
    // One client per gateway; a new session prop is only the first token, refreshes go through fetchSession.
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [props.baseUrl],
  )
  useEffect(() => {
    client.start()
    return () => client.close()
  }, [client])
  const balance = useMemo(() => new BalanceStore(() => client), [client])
  const [config, setConfig] = useState<GatewayConfig | null>(null)
  const [configError, setConfigError] = useState<Error | null>(null)
  useEffect(() => {
    let live = true
    client.getConfig().then(
      (read) => live && setConfig(read),
      (error: Error) => live && setConfigError(error),
    )
    return () => {
      live = false
    }
  }, [client])
  const stripeRef = useRef<Promise<Stripe | null> | null>(null)
  const value = useMemo<MeterwayContextValue>(
    () => ({
      client,
      session: session ?? client.session,
      mode,
      appearance,
      config,
      configError,
      modeError: config ? modeMismatch(mode, config) : null,
      balance,
      stripe: () => {
        if (!config?.publishable_key) return Promise.reject(new Error('The gateway has no Stripe publishable key for this mode (top-ups are not configured).'))
        stripeRef.current ??= (latest.current.loadStripe ?? loadStripeJs)(config.publishable_key)
        return stripeRef.current
      },
    }),
    [client, session, mode, appearance, config, configError, balance],
  )
  return <MeterwayContext.Provider value={value}>{children}</MeterwayContext.Provider>
}
