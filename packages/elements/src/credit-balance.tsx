// <CreditBalance label/>: the session wallet's balance in USD, updated whenever any hook under the provider refetches it.
import { formatUsd } from './format'
import { useBalance } from './hooks'

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
