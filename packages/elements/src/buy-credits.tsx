// <BuyCredits amount/>: a top-up PaymentIntent from the gateway, Stripe's PaymentElement to pay it, then the balance polled until the webhook credits it.
import type { TopUp } from '@meterway/client'
import { Elements, PaymentElement, useElements, useStripe } from '@stripe/react-stripe-js'
import type { Stripe } from '@stripe/stripe-js'
import { useMemo, useState, type FormEvent } from 'react'
import { useMeterway } from './context'
import { formatUsd } from './format'
import { useBalance } from './hooks'

export interface BuyCreditsProps {
  /** USD, e.g. 10 or "10.00". */
  amount: number | string
  /** Called once the wallet shows the credit. */
  onCredited?: (balance: string | null) => void
}

type Stage = { step: 'idle' } | { step: 'paying'; topUp: TopUp } | { step: 'crediting' } | { step: 'done'; balance: string | null }

export function BuyCredits({ amount, onCredited }: BuyCreditsProps) {
  const { client, config, configError, modeError, stripe, appearance } = useMeterway()
  const [stage, setStage] = useState<Stage>({ step: 'idle' })
  const [error, setError] = useState<string | null>(null)
  const [starting, setStarting] = useState(false)
  const amountUsd = typeof amount === 'number' ? amount.toFixed(2) : amount
  const stripePromise = useMemo<Promise<Stripe | null> | null>(() => (stage.step === 'paying' ? stripe() : null), [stage.step, stripe])

  // A mode mismatch is said before any PaymentIntent exists: its confirmation could only fail.
  if (modeError) {
    return (
      <div className="mw-buy-credits" data-testid="mw-buy-credits">
        <p role="alert" className="mw-error" data-code="mode_mismatch" style={{ color: '#b00020' }}>
          {modeError}
        </p>
      </div>
    )
  }

  const start = async () => {
    setError(null)
    setStarting(true)
    try {
      const topUp = await client.createTopUp(amountUsd, { idempotencyKey: `buy-${crypto.randomUUID()}` })
      setStage({ step: 'paying', topUp })
    } catch (caught) {
      setError((caught as Error).message)
    } finally {
      setStarting(false)
    }
  }

  return (
    <div className="mw-buy-credits" data-testid="mw-buy-credits" data-stage={stage.step}>
      {stage.step === 'idle' ? (
        <button type="button" onClick={start} disabled={starting || config === null}>
          Buy {formatUsd(amountUsd)} of credits
        </button>
      ) : null}
      {configError ? (
        <p role="alert" className="mw-error" style={{ color: '#b00020' }}>
          {configError.message}
        </p>
      ) : null}
      {stage.step === 'paying' && stripePromise ? (
        <Elements stripe={stripePromise} options={{ clientSecret: stage.topUp.client_secret, ...(appearance ? { appearance } : {}) }}>
          <PaymentForm
            topUp={stage.topUp}
            onPaid={() => setStage({ step: 'crediting' })}
            onCredited={(balance) => {
              setStage({ step: 'done', balance })
              onCredited?.(balance)
            }}
            onError={setError}
          />
        </Elements>
      ) : null}
      {stage.step === 'crediting' ? <p className="mw-status">Payment received; crediting your wallet…</p> : null}
      {stage.step === 'done' ? (
        <p className="mw-status" data-testid="mw-buy-credits-done">
          Credits added{stage.balance !== null ? `: your balance is ${formatUsd(stage.balance)}` : ''}.{' '}
          <button type="button" onClick={() => setStage({ step: 'idle' })}>
            Buy more
          </button>
        </p>
      ) : null}
      {error ? (
        <p role="alert" className="mw-error" style={{ color: '#b00020' }}>
          {error}
        </p>
      ) : null}
    </div>
  )
}

function PaymentForm(props: { topUp: TopUp; onPaid: () => void; onCredited: (balance: string | null) => void; onError: (message: string) => void }) {
  const stripe = useStripe()
  const elements = useElements()
  const { refetchUntilChange } = useBalance()
  const [busy, setBusy] = useState(false)
  const pay = async (event: FormEvent) => {
    event.preventDefault()
    if (!stripe || !elements) return
    setBusy(true)
    const result = await stripe.confirmPayment({ elements, redirect: 'if_required' })
    if (result.error) {
      setBusy(false)
      props.onError(result.error.message ?? 'The payment failed.')
      return
    }
    props.onPaid()
    props.onCredited(await refetchUntilChange())
  }
  return (
    <form onSubmit={pay} className="mw-payment-form">
      <PaymentElement />
      <button type="submit" disabled={!stripe || busy} style={{ marginTop: '0.75em' }}>
        Pay {formatUsd(props.topUp.amount_usd)}
      </button>
    </form>
  )
}
