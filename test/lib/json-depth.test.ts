// The depth check: exactly MAX_JSON_DEPTH levels pass, one more is named by its path, and no depth overflows our stack.
import { describe, expect, test } from 'bun:test'
import { firstTooDeep, MAX_JSON_DEPTH, pathToParam } from '../../src/lib/json-depth'
import { deepArrays, deepObjects } from '../helpers/hostile'
describe('firstTooDeep', () => {
  test('scalars and flat values have no depth to speak of', () => {
    for (const value of [null, 1, 'text', true, {}, [], { a: 1, b: [1, 2] }]) expect(firstTooDeep(value)).toBeNull()
  })

  test('MAX_JSON_DEPTH levels pass; one more is refused at the first container past the limit', () => {
    expect(firstTooDeep(JSON.parse(deepArrays(MAX_JSON_DEPTH)))).toBeNull()
    expect(firstTooDeep(JSON.parse(deepObjects(MAX_JSON_DEPTH)))).toBeNull()
    expect(firstTooDeep(JSON.parse(deepArrays(MAX_JSON_DEPTH + 1)))).toEqual(Array(MAX_JSON_DEPTH).fill(0))
    expect(firstTooDeep(JSON.parse(deepObjects(MAX_JSON_DEPTH + 1)))).toEqual(Array(MAX_JSON_DEPTH).fill('a'))
  })

  test('the first too-deep value in document order is the one named', () => {
    const body = { model: 'm', tools: [{ function: { parameters: { ok: 1 } } }, { function: { parameters: JSON.parse(deepArrays(80)) } }], later: JSON.parse(deepArrays(80)) }
    expect(pathToParam(firstTooDeep(body, 10)!)).toBe('tools[1].function.parameters[0][0][0][0][0][0]')
  })

  test('a million levels are walked without recursion', () => {
    expect(firstTooDeep(JSON.parse(deepArrays(1_000_000)))).toHaveLength(MAX_JSON_DEPTH)
    expect(firstTooDeep(JSON.parse(deepObjects(1_000_000)))).toHaveLength(MAX_JSON_DEPTH)
  })

  test('pathToParam writes our param style and shortens absurd keys', () => {
    expect(pathToParam(['messages', 0, 'content', 2, 'image_url'])).toBe('messages[0].content[2].image_url')
    expect(pathToParam(['k'.repeat(10_000)])).toBe(`${'k'.repeat(64)}…`)
  })
})
