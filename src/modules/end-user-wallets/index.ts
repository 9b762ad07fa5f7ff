// The end-user wallets plugin: /v1/wallets/{id} (secret key: read, freeze, credit) and /v1/wallet/balance (session token).
import { Elysia } from 'elysia'
import { secretKeyJson, secretKeyPlugin, sessionPlugin, type PlatformAuth } from '../auth/platform'
import { EndUserWalletModel } from './model'
import { changeWalletStatus, creditWallet, readWallet, sessionBalance, type EndUserWalletDeps } from './service'

export interface EndUserWalletsDeps extends EndUserWalletDeps {
  auth: PlatformAuth
}

const WALLET_MAX_BODY_BYTES = 64 * 1024

export function endUserWalletsPlugin(deps: EndUserWalletsDeps) {
  const { auth, ...service } = deps
  const parse = secretKeyJson(auth, WALLET_MAX_BODY_BYTES)
  const detail = (summary: string) => ({ tags: ['end-user wallets'], summary, security: [{ bearer: [] }] })
  const backend = new Elysia({ prefix: '/v1/wallets' })
    .use(secretKeyPlugin(auth))
    .get('/:id', ({ project, params }) => readWallet(service, project, params.id), {
      params: EndUserWalletModel.walletParams,
      response: EndUserWalletModel.wallet,
      detail: detail("An end-user wallet of the key's project and mode: balance, held, available, status (secret key)"),
    })
    .patch('/:id', ({ project, params, body }) => changeWalletStatus(service, project, params.id, body.status), {
      params: EndUserWalletModel.walletParams,
      parse,
      body: EndUserWalletModel.update,
      response: EndUserWalletModel.wallet,
      detail: detail('Freeze or unfreeze an end-user wallet (secret key)'),
    })
    .post(
      '/:id/credit',
      async ({ project, params, body, headers, set }) => {
        const outcome = await creditWallet(service, project, params.id, body.amount_usd, body.reason ?? '', headers['idempotency-key'])
        set.status = outcome.created ? 201 : 200
        return outcome.body
      },
      {
        params: EndUserWalletModel.walletParams,
        headers: EndUserWalletModel.creditHeaders,
        parse,
        body: EndUserWalletModel.credit,
        response: { 200: EndUserWalletModel.creditResponse, 201: EndUserWalletModel.creditResponse },
        detail: detail('Grant credits to an end-user wallet (secret key; idempotent with an Idempotency-Key header)'),
      },
    )
  const browser = new Elysia().use(sessionPlugin(auth)).get('/v1/wallet/balance', ({ session }) => sessionBalance(service, session), {
    response: EndUserWalletModel.balance,
    detail: detail("The session's wallet: balance and the last 10 ledger entries (session token)"),
  })
  return new Elysia({ name: 'end-user-wallets' }).use(backend).use(browser)
}
