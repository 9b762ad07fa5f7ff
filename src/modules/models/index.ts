// The models plugin: GET /v1/models, /llm/v1/models and /llm/models (public: the catalog and its prices are not secret).
import { Elysia } from 'elysia'
import { ModelNotFoundError } from '../../errors'
import type { Catalog } from '../../pricing/catalog'
import { modelEntry, modelListJson } from './service'

export function modelsPlugin(catalog: Catalog) {
  const listJson = modelListJson(catalog)
  const list = () => new Response(listJson, { headers: { 'content-type': 'application/json' } })
  const one = ({ params }: { params: { '*': string } }) => {
    const id = decodeURIComponent(params['*'])
    const model = catalog.find(id)
    if (!model) throw new ModelNotFoundError(id)
    return modelEntry(model, catalog.version)
  }
  const detail = { tags: ['models'], summary: 'List the models of the catalog with limits and prices' }
  return new Elysia({ name: 'models' })
    .get('/v1/models', list, { detail })
    .get('/llm/v1/models', list, { detail })
    .get('/llm/models', list, { detail })
    .get('/v1/models/*', one, { detail: { tags: ['models'], summary: 'Retrieve one model, e.g. /v1/models/openai/gpt-4o' } })
    .get('/llm/v1/models/*', one, { detail: { tags: ['models'], summary: 'Retrieve one model' } })
}
