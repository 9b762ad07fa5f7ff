// What an end user's session may call: its wallet not frozen, its scope's models, free ones only in test mode; `auto` picks a free (else the cheapest) model of the endpoint's kind in scope.
import { InvalidRequestError, ModelNotFoundError, PaymentRequiredError, PermissionError } from '../../errors'
import type { PlatformUsage } from '../../metering/usage-record'
import type { Catalog, CatalogModel, ModelKind } from '../../pricing/catalog'
import type { SessionPrincipal } from '../auth/platform-credentials'
import { resolveModel } from './service'

export const AUTO_MODEL = 'auto'

/**
 * The model a session's request is served by, or the 402/403/404 it gets; `resolve` is the endpoint's own model lookup
 * and `kind` the kind of model it serves (what `auto` picks from).
 */
export function sessionModel(
  catalog: Catalog,
  session: SessionPrincipal,
  requested: string,
  resolve: (catalog: Catalog, id: string) => CatalogModel = resolveModel,
  kind: ModelKind = 'chat',
): CatalogModel {
  if (session.walletStatus === 'frozen') {
    throw new PaymentRequiredError('This wallet is frozen: the platform has paused its spending. Ask the app that issued this session.', 'wallet_frozen')
  }
  const model = requested === AUTO_MODEL ? autoModel(catalog, session, kind) : resolve(catalog, requested)
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

/**
 * A free model of this kind the session may use; in live mode, else the cheapest: chat models by output price,
 * embedding models by input price. Image models have no one price to compare (per image, or by tokens): live `auto`
 * with no free image model in scope is a 400 asking for the model.
 */
function autoModel(catalog: Catalog, session: SessionPrincipal, kind: ModelKind): CatalogModel {
  const allowed = catalog.models.filter((m) => m.kind === kind && (session.scopeModels === null || session.scopeModels.includes(m.id)))
  const free = allowed.find((m) => m.free)
  if (free) return free
  const what = kind === 'chat' ? 'model' : `${kind} model`
  if (session.mode === 'test') {
    throw new PermissionError(`No free ${what} is in this session's scope, and test-mode sessions reach free models only.`, 'paid_model_in_test_mode', 'model')
  }
  if (allowed.length === 0) throw new ModelNotFoundError(AUTO_MODEL)
  if (kind === 'image') {
    throw new InvalidRequestError(`No free image model is in this session's scope for "${AUTO_MODEL}"; name the image model (one of: ${allowed.map((m) => m.id).join(', ')}).`, 'model', 'invalid_value')
  }
  const price = (m: CatalogModel) => (kind === 'chat' ? m.prices.output : m.prices.input)
  return allowed.reduce((cheapest, m) => (price(m) < price(cheapest) ? m : cheapest))
}

/** What a session-token request's usage row says about whose end user paid. */
export const platformUsage = (session: SessionPrincipal): PlatformUsage => ({
  projectId: session.projectId,
  endCustomerId: session.endCustomerId,
  sessionId: session.sessionId,
  mode: session.mode,
})
