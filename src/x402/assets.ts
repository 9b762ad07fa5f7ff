// The networks x402 payments are taken on: CAIP-2 id, v1 name, chain id, and that network's USDC (address and EIP-712 domain) from @x402/evm.
import { getDefaultAsset } from '@x402/evm'
import type { Network } from '@x402/core/types'
import { findNetwork } from '../lib/gateway-config/networks'

export interface X402Asset {
  /** CAIP-2 ("eip155:8453"), as x402 v2 writes a network. */
  caip2: Network
  /** The v1 name ("base"). */
  name: string
  chainId: number
  /** The token contract (checksummed). */
  address: `0x${string}`
  /** The token's EIP-712 domain: what `extra {name, version}` carries and the signature is checked against. */
  domain: { name: string; version: string }
  decimals: number
}

const cache = new Map<string, X402Asset>()

/** USDC on a network named "base", "base-sepolia" or by CAIP-2; undefined for one we do not take payments on. */
export function usdcOn(network: string): X402Asset | undefined {
  const known = findNetwork(network)
  if (!known) return undefined
  const hit = cache.get(known.caip2)
  if (hit) return hit
  const info = getDefaultAsset(known.caip2 as Network, 'USDC')
  const asset: X402Asset = Object.freeze({
    caip2: known.caip2 as Network,
    name: known.name,
    chainId: Number(known.caip2.slice('eip155:'.length)),
    address: info.asset as `0x${string}`,
    domain: Object.freeze({ name: info.name, version: info.version }),
    decimals: info.decimals,
  })
  cache.set(known.caip2, asset)
  return asset
}
