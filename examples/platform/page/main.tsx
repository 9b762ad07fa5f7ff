// The example page: signs the user's browser into Meterway with a session from the backend, then chat, balance and buying credits from @meterway/elements.
import { BuyCredits, Chat, CreditBalance, MeterwayProvider, useMeterway, type StripeLoader } from '@meterway/elements'
import { useEffect, useState } from 'react'
import { createRoot } from 'react-dom/client'

interface Settings {
  gatewayUrl: string
  model: string
  mode: 'live' | 'test'
  user: string
  refreshBeforeMs: number
}

declare global {
  interface Window {
    EXAMPLE: Settings
    /**
     * The Stripe.js seam: defined before this script runs (a test's stand-in, or offline development), it replaces
     * @stripe/stripe-js's loadStripe, which fetches Stripe.js from Stripe.
     */
    meterwayLoadStripe?: StripeLoader
  }
}

const settings = window.EXAMPLE
/** `?mode=test` on a live session (or the reverse) shows what a mismatched provider does. */
const mode = (new URLSearchParams(location.search).get('mode') as Settings['mode'] | null) ?? settings.mode
type Session = { sessionToken: string; expiresAt: string }

async function fetchSession(): Promise<Session> {
  const response = await fetch('/api/session', { method: 'POST' })
  if (!response.ok) throw new Error(`Could not get a session: ${response.status}`)
  return (await response.json()) as Session
}

/** Which token the page holds now and until when (the test watches it change before it expires). */
function SessionInfo() {
  const { session } = useMeterway()
  return (
    <p data-testid="session-info" data-token-tail={session.token.slice(-8)} data-expires-at={session.expiresAt} style={{ color: '#666', fontSize: '0.8em' }}>
      Session …{session.token.slice(-8)}, valid until {new Date(session.expiresAt).toLocaleTimeString()}
    </p>
  )
}

function App() {
  const [session, setSession] = useState<Session | null>(null)
  const [error, setError] = useState<string | null>(null)
  useEffect(() => {
    fetchSession().then(setSession, (caught: Error) => setError(caught.message))
  }, [])
  if (error) return <p role="alert">{error}</p>
  if (!session) return <p>Connecting…</p>
  return (
    <MeterwayProvider
      session={session}
      fetchSession={fetchSession}
      mode={mode}
      baseUrl={settings.gatewayUrl}
      refreshBeforeMs={settings.refreshBeforeMs}
      appearance={{ theme: 'stripe' }}
      {...(window.meterwayLoadStripe ? { loadStripe: window.meterwayLoadStripe } : {})}
    >
      <h1>Hello, {settings.user}</h1>
      <CreditBalance label="Your balance" />
      <BuyCredits amount={10} />
      <h2>Assistant</h2>
      <Chat model={settings.model} maxTokens={512} />
      <SessionInfo />
    </MeterwayProvider>
  )
}

createRoot(document.getElementById('root')!).render(<App />)
