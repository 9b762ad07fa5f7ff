// <CreditBalance label/>: the session wallet's balance in USD, updated whenever any hook under the provider refetches it.
import { useBalance } from './hooks'

/** "8.333333333" → "$8.33" (floored to the cent: never show more than can be spent). */
export function formatUsd(amount: string): string {
  const [whole = '0', fraction = ''] = amount.replace(/^-/, '').split('.')
  return `${amount.startsWith('-') ? '-' : ''}$${Number(whole).toLocaleString('en-US')}.${(fraction + '00').slice(0, 2)}`
}

export function CreditBalance({ label = 'Balance' }: { label?: string }) {
  const { balance, loading, error } = useBalance()
  return (
    <div className="mw-credit-balance" data-testid="mw-credit-balance" data-balance={balance ?? ''}>
      <span className="mw-label">{label}: </span>
      <strong>{balance !== null ? formatUsd(balance) : loading ? '…' : '—'}</strong>
      {error && balance === null ? <span role="alert"> ({error.message})</span> : null}
    </div>
  )
}
