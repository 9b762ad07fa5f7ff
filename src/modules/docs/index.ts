// The docs plugin: the OpenAPI document at /swagger/json and its viewer at /swagger, served whole by the gateway (no CDN).
import { swagger } from '@elysiajs/swagger'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { Elysia } from 'elysia'

/**
 * The viewer's script, from the installed @scalar/api-reference (pinned in package.json): the page loads it from us,
 * so /swagger renders where the CDN the plugin defaults to (jsdelivr, `latest`) is out of reach. The package exports
 * neither the browser bundle nor its package.json, so both are found from its entry point.
 */
const SCALAR_ROOT = join(dirname(new URL(import.meta.resolve('@scalar/api-reference')).pathname), '..')
const scalarPackage = JSON.parse(readFileSync(join(SCALAR_ROOT, 'package.json'), 'utf8')) as { version: string }
const SCALAR_SCRIPT = Bun.file(join(SCALAR_ROOT, 'dist', 'browser', 'standalone.js'))
export const SCALAR_SCRIPT_PATH = '/swagger/scalar.js'

export function docsPlugin() {
  return new Elysia({ name: 'docs' })
    .get(
      SCALAR_SCRIPT_PATH,
      () =>
        new Response(SCALAR_SCRIPT, {
          headers: {
            'content-type': 'text/javascript; charset=utf-8',
            // The version is in package.json: a new one comes with a new deploy, so a day's caching is safe.
            'cache-control': 'public, max-age=86400',
            etag: `"scalar-${scalarPackage.version}"`,
          },
        }),
      { detail: { hide: true } },
    )
    .use(
      swagger({
        path: '/swagger',
        scalarVersion: scalarPackage.version,
        scalarCDN: SCALAR_SCRIPT_PATH,
        exclude: [SCALAR_SCRIPT_PATH],
        documentation: {
          info: { title: 'Meterway', version: '0.1.0', description: 'OpenAI-compatible LLM gateway that meters and bills every token.' },
          components: {
            securitySchemes: {
              bearer: { type: 'http', scheme: 'bearer' },
              apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
            },
          },
        },
      }),
    )
}
