// What crosses the paid-route proxy: client credentials, payment and hop-by-hop headers never reach the upstream; the configured headers do; :params fill the upstream path.
import { expect, test } from 'bun:test'
import { clientResponseHeaders, upstreamRequestHeaders, upstreamUrl } from '../../src/modules/paid-routes/proxy'

test('request headers: credentials, payment, hop-by-hop and Connection-listed ones dropped; configured ones win', () => {
  const client = new Headers({
    authorization: 'Bearer c', 'x-api-key': 'c', cookie: 'c', 'api-key': 'c', 'x-goog-api-key': 'c', 'proxy-authorization': 'c',
    'payment-signature': 'p', 'x-payment': 'p', connection: 'keep-alive, x-secret-hop', 'x-secret-hop': 'h', te: 'trailers', 'keep-alive': '5',
    'accept-encoding': 'gzip', 'content-type': 'application/json', 'anthropic-version': '2023-01-01', 'user-agent': 'ua',
  })
  const sent = Object.fromEntries(upstreamRequestHeaders(client, { 'x-api-key': 'ours', 'anthropic-version': '2023-06-01' }))
  expect(sent).toEqual({ 'content-type': 'application/json', 'anthropic-version': '2023-06-01', 'user-agent': 'ua', 'x-api-key': 'ours' })
})

test('response headers: hop-by-hop and the decompressed encoding dropped, the rest kept', () => {
  const kept = Object.fromEntries(clientResponseHeaders(new Headers({ 'content-type': 'text/event-stream', 'content-encoding': 'gzip', 'transfer-encoding': 'chunked', connection: 'close', 'request-id': 'req_1' })))
  expect(kept).toEqual({ 'content-type': 'text/event-stream', 'request-id': 'req_1' })
})

test('upstream URL: the route path as asked, or its path: with :params filled; the query kept', () => {
  const upstream = { name: 'u', url: 'http://up', headers: {}, timeoutMs: null }
  expect(upstreamUrl(upstream, { path: '/v1/messages', upstreamPath: '/v1/messages' }, new URL('http://gw/v1/messages?beta=1'), {})).toBe('http://up/v1/messages?beta=1')
  expect(upstreamUrl(upstream, { path: '/items/:id', upstreamPath: '/v2/things/:id' }, new URL('http://gw/items/a%20b?x=1'), { id: 'a b' })).toBe('http://up/v2/things/a%20b?x=1')
})
