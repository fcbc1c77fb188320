// Compact entities of day documents (the published layout's "encoded" encoding; the Python side
// is shared/schemas/compact.py): msgpack arrays of field values in the order the layout lists.

import { decode } from '@msgpack/msgpack'

/** The named fields of an entry stored under `key` as struct `name` (msgpack bytes or the JSON
 * text of older documents). */
export function readEntity (layout, name, key, raw) {
  let entity
  if (typeof raw === 'string') {
    entity = withDefaults(layout, name, JSON.parse(raw))
  } else if (raw instanceof Uint8Array) {
    const values = decode(raw)
    if (!Array.isArray(values)) throw new Error(`${name} ${key}: not a msgpack array`)
    entity = fromArray(layout, name, values)
  } else {
    throw new Error(`${name} ${key}: neither bytes nor text`)
  }
  if ('id' in entity) entity.id = key // an entry's id is its key, not written again
  return entity
}

/** Fields the layout knows, each given or else its default (a required one missing throws). */
export function withDefaults (layout, name, values) {
  const entity = {}
  for (const field of fieldsOf(layout, name)) {
    if (field.name in values) entity[field.name] = values[field.name]
    else entity[field.name] = defaultOf(name, field)
  }
  return entity
}

function fromArray (layout, name, values) {
  if (!Array.isArray(values)) throw new Error(`${name}: expected an array, got ${typeof values}`)
  const entity = {}
  // Values past the layout's fields come from a newer writer: ignored, as the format says.
  fieldsOf(layout, name).forEach((field, n) => {
    entity[field.name] = n < values.length
      ? readValue(layout, field, values[n])
      : defaultOf(name, field)
  })
  return entity
}

function readValue (layout, field, value) {
  if (field.struct) return value === null ? null : fromArray(layout, field.struct, value)
  if (field.list_of) return value.map((item) => fromArray(layout, field.list_of, item))
  return plain(value)
}

/** A value of no struct type, its 16-byte strings read back as the UUID text they carry. */
function plain (value) {
  if (value instanceof Uint8Array) {
    if (value.length !== 16) throw new Error(`bytes of length ${value.length} are not a UUID`)
    const hex = Buffer.from(value).toString('hex')
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)]
      .join('-')
  }
  if (Array.isArray(value)) return value.map(plain)
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]))
  }
  return value
}

function fieldsOf (layout, name) {
  const struct = layout.structs[name]
  if (!struct) throw new Error(`the layout has no struct ${name}`)
  return struct.fields
}

function defaultOf (name, field) {
  if (!('default' in field)) throw new Error(`${name}: required field ${field.name} is missing`)
  return structuredClone(field.default)
}
