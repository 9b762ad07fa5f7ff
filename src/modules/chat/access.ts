// May this principal spend now: an active subscription when required, and the month's spend under its cap.
import { spendNano } from '../../db/queries/usage-summary'
import { PaymentRequiredError } from '../../errors'
import type { Sql } from '../../lib/db'
import type { UsageSink } from '../../metering/usage-record'
import { formatNanoAsUsd } from '../../pricing/money'
import type { Principal } from '../auth/service'
import { currentPeriod } from '../usage/period'

const SUBSCRIBED = new Set(['active', 'trialing'])

export function assertSubscribed(principal: Principal, required: boolean): void {
  if (!required || principal.kind === 'static' || SUBSCRIBED.has(principal.subscriptionStatus)) return
  throw new PaymentRequiredError(
    'LLM access needs an active Pro subscription. Start one with POST /subscriptions/checkout {"plan":"pro"} ' +
      'and complete the payment at the checkout_url it returns; access is enabled as soon as Stripe confirms it.',
    'subscription_required',
  )
}

/**
 * The month's spend per capped account, read from Postgres once and then kept current in process from the usage
 * records this process emits (re-read every refreshMs to include other processes). A plain check, not atomic:
 * concurrent requests can each pass just under the cap; admission in Redis replaces this.
 */
export class MonthSpend {
  private readonly spent = new Map<string, { nano: bigint; periodStart: number; readAt: number }>()

  constructor(
    private readonly sql: Sql,
    private readonly refreshMs = 5_000,
  ) {}

  /** Wraps a usage sink so each record's cost counts at once. */
  counting(sink: UsageSink): UsageSink {
    return (record) => {
      const entry = this.spent.get(record.accountId)
      if (entry) entry.nano += BigInt(record.costNano)
      sink(record)
    }
  }

  async of(accountId: string): Promise<bigint> {
    const period = currentPeriod()
    const entry = this.spent.get(accountId)
    if (entry && entry.periodStart === period.start.getTime() && Date.now() - entry.readAt < this.refreshMs) return entry.nano
    const nano = await spendNano(this.sql, accountId, period.start, period.end)
    this.spent.set(accountId, { nano, periodStart: period.start.getTime(), readAt: Date.now() })
    return nano
  }

  async assertUnderCap(principal: Principal): Promise<void> {
    if (principal.spendCapNano === null) return
    const spent = await this.of(principal.accountId)
    if (spent >= principal.spendCapNano) {
      throw new PaymentRequiredError(
        `Your spending cap of $${formatNanoAsUsd(principal.spendCapNano)} for this month is reached ($${formatNanoAsUsd(spent)} spent).`,
        'spending_cap_reached',
      )
    }
  }
}
