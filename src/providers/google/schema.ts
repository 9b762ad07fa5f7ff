// Cuts a JSON Schema down to the OpenAPI subset Gemini accepts for function parameters.

// Gemini answers 400 for any keyword outside its Schema object, so keep what it documents rather than strip what we know of.
const SUPPORTED_KEYWORDS = new Set([
  'type', 'format', 'title', 'description', 'nullable', 'enum', 'items', 'minItems', 'maxItems',
  'properties', 'required', 'minProperties', 'maxProperties', 'propertyOrdering',
  'minLength', 'maxLength', 'pattern', 'minimum', 'maximum', 'example', 'default', 'anyOf',
])

type Schema = Record<string, unknown>

function isSchema(value: unknown): value is Schema {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function cleanList(list: unknown): Schema[] | undefined {
  if (!Array.isArray(list)) return undefined
  const out: Schema[] = []
  for (const item of list) if (isSchema(item)) out.push(cleanSchema(item))
  return out
}

export function cleanSchema(schema: Schema): Schema {
  const out: Schema = {}
  for (const key in schema) {
    const value = schema[key]
    if (key === 'properties') {
      if (!isSchema(value)) continue
      // Keys here are property names, not keywords: a property called "strict" or "additionalProperties" stays.
      const properties: Schema = {}
      for (const name in value) {
        const property = value[name]
        if (isSchema(property)) properties[name] = cleanSchema(property)
      }
      out.properties = properties
    } else if (key === 'items') {
      if (isSchema(value)) out.items = cleanSchema(value)
    } else if (key === 'anyOf' || key === 'oneOf') {
      // Gemini has no oneOf; for generation "one of these shapes" and "any of them" ask for the same thing.
      if (key === 'oneOf' && 'anyOf' in schema) continue
      const list = cleanList(value)
      if (list) out.anyOf = list
    } else if (key === 'type' && Array.isArray(value)) {
      // JSON Schema's ["string", "null"] is OpenAPI's type + nullable; Gemini rejects a type list.
      const types = value.filter((type) => type !== 'null')
      if (types.length !== value.length) out.nullable = true
      if (types.length === 1) out.type = types[0]
      else if (types.length > 1) out.anyOf = types.map((type) => ({ type }))
    } else if (key === 'const') {
      if (!('enum' in schema)) out.enum = [value]
    } else if (SUPPORTED_KEYWORDS.has(key)) {
      out[key] = value
    }
  }
  return out
}

/**
 * Function parameters for a declaration, or undefined to leave them out: Gemini rejects an OBJECT schema
 * with no properties, which is how OpenAI clients describe a tool that takes no arguments.
 */
export function functionParameters(parameters: Schema | undefined): Schema | undefined {
  if (!parameters) return undefined
  const cleaned = cleanSchema(parameters)
  if (typeof cleaned.type === 'string' && cleaned.type.toLowerCase() === 'object' && (!isSchema(cleaned.properties) || Object.keys(cleaned.properties).length === 0)) return undefined
  return cleaned
}
