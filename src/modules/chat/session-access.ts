// What an end user's session may call: its wallet not frozen, its scope's models, free ones only in test mode; `auto` picks a free (else the cheapest) model in scope.
import { ModelNotFoundError, PaymentRequiredError, PermissionError } from '../../errors'
import type { PlatformUsage } from '../../metering/usage-record'
import type { Catalog, CatalogModel } from '../../pricing/catalog'
import type { SessionPrincipal } from '../auth/platform-credentials'
import { resolveModel } from './service'

export const AUTO_MODEL = 'auto'

/** The model a session's request is served by, or the 402/403/404 it gets; `resolve` is the endpoint's own model lookup. */
export function sessionModel(
  catalog: Catalog,
  session: SessionPrincipal,
  requested: string,
  resolve: (catalog: Catalog, id: string) => CatalogModel = resolveModel,
): CatalogModel {
  if (session.walletStatus === 'frozen') {
    throw new PaymentRequiredError('This wallet is frozen: the platform has paused its spending. Ask the app that issued this session.', 'wallet_frozen')
  }
  const model = requested === AUTO_MODEL ? autoModel(catalog, session) : resolve(catalog, requested)
  if (session.scopeModels !== null && !session.scopeModels.includes(model.id)) {
    throw new PermissionError(`This session may not use ${model.id}; its scope allows: ${session.scopeModels.join(', ')}.`, 'model_not_allowed', 'model')
  }
  if (session.mode === 'test' && !model.free) {
    throw new PermissionError(
      `${model.id} is a paid model, and test-mode sessions reach free models only. Use "model": "${AUTO_MODEL}" to get a free model this session may use.`,
      'paid_model_in_test_mode',
      'model',
    )
  }
  return model
}

/** A free chat model the session may use; in live mode, else the cheapest by output price. */
function autoModel(catalog: Catalog, session: SessionPrincipal): CatalogModel {
  const allowed = catalog.models.filter((m) => m.kind === 'chat' && (session.scopeModels === null || session.scopeModels.includes(m.id)))
  const free = allowed.find((m) => m.free)
  if (free) return free
  if (session.mode === 'test') {
    throw new PermissionError('No free model is in this session\'s scope, and test-mode sessions reach free models only.', 'paid_model_in_test_mode', 'model')
  }
  if (allowed.length === 0) throw new ModelNotFoundError(AUTO_MODEL)
  return allowed.reduce((cheapest, m) => (m.prices.output < cheapest.prices.output ? m : cheapest))
}

/** What a session-token request's usage row says about whose end user paid. */
export const platformUsage = (session: SessionPrincipal): PlatformUsage => ({
  projectId: session.projectId,
  endCustomerId: session.endCustomerId,
  sessionId: session.sessionId,
  mode: session.mode,
})
