// The x402 test stack: a fake upstream, a fake base-sepolia USDC chain, the exact and upto fake facilitators, a gateway YAML paying to a wallet through them, and the gateway on it; one stop() ends them all.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { x402Client } from '@x402/core/client'
import { ExactEvmScheme } from '@x402/evm'
import { UptoEvmScheme } from '@x402/evm/upto/client'
import { wrapFetchWithPayment } from '@x402/fetch'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { usdcOn } from '../../src/x402/assets'
import { startFakeChain, type FakeChain } from './fake-chain'
import { startFakeFacilitator, type FakeFacilitator } from './fake-facilitator'
import { startUptoFacilitator, type UptoFacilitator } from './fake-facilitator/upto'
import { startFakeUpstream, type FakeUpstream } from './fake-upstream'
import { startGateway, type TestGateway } from './gateway'

const USDC = usdcOn('base-sepolia')!

/** What a YAML is written from: the started servers' URLs and the wallet paid. */
export interface X402StackUrls {
  upstreamUrl: string
  facilitatorUrl: string
  payTo: string
}

export interface X402Fakes {
  upstream: FakeUpstream
  chain: FakeChain
  /** The exact fake; `facilitator` forwards exact calls to it. */
  exact: FakeFacilitator
  /** The facilitator the gateway is given: upto on the fake chain, exact forwarded. */
  facilitator: UptoFacilitator
  stop(): void
}

export interface X402Stack extends X402Fakes {
  gateway: TestGateway
  payTo: string
  configPath: string
  stop(): Promise<void>
}

/** The fakes a gateway's x402 routes reach: what the machine cannot reach for real. */
export function startX402Fakes(): X402Fakes {
  const upstream = startFakeUpstream()
  const chain = startFakeChain(USDC.chainId, USDC.address)
  const exact = startFakeFacilitator()
  const facilitator = startUptoFacilitator(chain, exact, ['eip155:84532'])
  return {
    upstream,
    chain,
    exact,
    facilitator,
    stop() {
      facilitator.stop()
      exact.stop()
      chain.stop()
      upstream.stop()
    },
  }
}

/**
 * Writes a gateway YAML to a temp dir and returns its path: the wallet (`payTo`), USDC on base-sepolia accepted,
 * the fake facilitator, then `sections` (gateway:, upstreams:, routes: as the test needs them).
 */
export function writeX402Config(fakes: X402Fakes, sections: (urls: X402StackUrls) => string, payTo: string = privateKeyToAccount(generatePrivateKey()).address): string {
  const urls = { upstreamUrl: fakes.upstream.url, facilitatorUrl: fakes.facilitator.url, payTo }
  const path = join(mkdtempSync(join(tmpdir(), 'mw-x402-stack-')), 'gateway.yaml')
  writeFileSync(
    path,
    `wallets: { base-sepolia: "${payTo}" }
accepts: [{ asset: USDC, network: base-sepolia }]
facilitator: { url: "${urls.facilitatorUrl}" }
${sections(urls)}`,
  )
  return path
}

/**
 * The fakes, the YAML (see writeX402Config) and an in-process gateway on it with `env` beside GATEWAY_CONFIG.
 * If the gateway does not start, the fakes are stopped before the error is thrown.
 */
export async function startX402Stack(options: {
  sections: (urls: X402StackUrls) => string
  env?: Record<string, string> | ((urls: X402StackUrls) => Record<string, string>)
  payTo?: string
}): Promise<X402Stack> {
  const fakes = startX402Fakes()
  const payTo = options.payTo ?? privateKeyToAccount(generatePrivateKey()).address
  const urls = { upstreamUrl: fakes.upstream.url, facilitatorUrl: fakes.facilitator.url, payTo }
  const configPath = writeX402Config(fakes, options.sections, payTo)
  const env = typeof options.env === 'function' ? options.env(urls) : (options.env ?? {})
  let gateway: TestGateway
  try {
    gateway = await startGateway({ ...env, GATEWAY_CONFIG: configPath })
  } catch (error) {
    fakes.stop()
    throw error
  }
  return {
    ...fakes,
    gateway,
    payTo,
    configPath,
    async stop() {
      await gateway.stop()
      fakes.stop()
    },
  }
}

/** A new payer with `balance` USDC on the fake chain and Permit2 approved for all of it (what upto needs first), paying over `scheme`. */
export function fundedPayer(chain: FakeChain, scheme: 'upto' | 'exact', balance = 1_000_000n) {
  const account = privateKeyToAccount(generatePrivateKey())
  chain.balances.set(account.address.toLowerCase(), balance)
  chain.allowances.set(account.address.toLowerCase(), balance)
  const client = x402Client.fromConfig({ schemes: [{ network: 'eip155:*', client: scheme === 'upto' ? new UptoEvmScheme(account) : new ExactEvmScheme(account) }] })
  return { account, fetch: wrapFetchWithPayment(fetch, client) }
}

/** Routes paid from a browser page at `origin` (gateway.cors_origins): a flat-priced one and a metered Messages one. */
export const corsPaymentSections = (origin: string) => ({ upstreamUrl }: X402StackUrls) => `gateway: { cors_origins: ["${origin}"] }
upstreams:
  anthropic: { url: "${upstreamUrl}", headers: { x-api-key: "sk-ant-route-secret-0123456789" } }
routes:
  "POST /v1/paid": { upstream: anthropic, path: "/v1/messages", price: "$0.001" }
  "POST /v1/messages": { upstream: anthropic, type: metered }
`
