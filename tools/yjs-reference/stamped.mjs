// Stamped cells of fields two sides edit (the published layout's "fields" and "flat" encodings;
// the Python side is shared/schemas/stamped.py). Written from the layout's description, not
// from that code: a second reading of the same rule.

const SEP = '@'
const ZERO = { ms: 0, counter: 0, replica: '' } // a cell written before stamps existed

/** The field and stamp of a cell's key; a key without a stamp is the field itself. */
export function parseKey (key) {
  const at = key.indexOf(SEP)
  if (at < 0) return { field: key, stamp: ZERO }
  const rest = key.slice(at + 1)
  const first = rest.indexOf('.')
  const second = rest.indexOf('.', first + 1)
  const ms = rest.slice(0, first)
  const counter = rest.slice(first + 1, second)
  if (first < 0 || second < 0 || !/^\d+$/.test(ms) || !/^\d+$/.test(counter)) {
    throw new Error(`not a stamped key: ${JSON.stringify(key)}`)
  }
  // Numbers as numbers: a 14-digit ms (year 5138) must still beat a 13-digit one.
  return {
    field: key.slice(0, at),
    stamp: { ms: Number(ms), counter: Number(counter), replica: rest.slice(second + 1) }
  }
}

/** Negative, zero or positive as stamp a orders before, with or after stamp b. */
export function compareStamps (a, b) {
  if (a.ms !== b.ms) return a.ms - b.ms
  if (a.counter !== b.counter) return a.counter - b.counter
  return a.replica < b.replica ? -1 : a.replica > b.replica ? 1 : 0
}

/** One cell from its key and JSON text. */
export function readCell (key, text) {
  if (typeof text !== 'string') throw new Error(`${JSON.stringify(key)} does not hold text`)
  const { field, stamp } = parseKey(key)
  const parsed = JSON.parse(text)
  if (stamp === ZERO) return { key, field, stamp, value: parsed, by: null }
  if (parsed === null || typeof parsed !== 'object' || !('v' in parsed)) {
    throw new Error(`${JSON.stringify(key)} is not a {"v": ..., "by": ...} cell`)
  }
  return { key, field, stamp, value: parsed.v, by: parsed.by ?? null }
}

/** A map's cells by field, each field's winner first. `entries`: [key, text] pairs. */
export function cellsByField (entries) {
  const found = new Map()
  for (const [key, text] of entries) {
    const cell = readCell(key, text)
    if (!found.has(cell.field)) found.set(cell.field, [])
    found.get(cell.field).push(cell)
  }
  for (const cells of found.values()) cells.sort((a, b) => compareStamps(b.stamp, a.stamp))
  return found
}

/** Each field's value: its winning cell's. */
export function winners (byField) {
  const values = {}
  for (const [field, cells] of byField) values[field] = cells[0].value
  return values
}

/** Every losing cell against its field's winner, as the appliance lists conflicts. */
export function conflicts (byField) {
  const found = []
  for (const [field, [winner, ...losers]] of byField) {
    for (const loser of losers) {
      found.push({
        field,
        value: winner.value,
        by: winner.by,
        at_ms: winner.stamp.ms,
        replica: winner.stamp.replica,
        lost_value: loser.value,
        lost_by: loser.by,
        lost_at_ms: loser.stamp.ms,
        lost_replica: loser.stamp.replica,
        lost_key: loser.key
      })
    }
  }
  return found
}
