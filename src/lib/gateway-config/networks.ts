// The x402 networks a config may name: its short name and its CAIP-2 id, and the assets accepted on it.

export interface Network {
  name: string
  /** CAIP-2, as x402 v2 writes it. */
  caip2: string
}

const NETWORKS: readonly Network[] = [
  { name: 'base', caip2: 'eip155:8453' },
  { name: 'base-sepolia', caip2: 'eip155:84532' },
]

export const NETWORK_NAMES = NETWORKS.map((n) => n.name)

/** "base" or "eip155:8453" → the network; undefined for one we do not know. */
export function findNetwork(name: string): Network | undefined {
  return NETWORKS.find((n) => n.name === name || n.caip2 === name)
}

export const ASSETS: readonly string[] = ['USDC']
