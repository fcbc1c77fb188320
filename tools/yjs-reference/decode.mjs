#!/usr/bin/env node
// A second client of Fynlo's documents: the reference Yjs implementation (npm `yjs`) applies a
// document's updates, and every entity is read back using only the published layout
// (shared/schemas/json/compact-layout.json). tests/integration/test_reference_client.py compares
// what it prints with the appliance's API.
//
//   node tools/yjs-reference/decode.mjs --layout compact-layout.json < input.json
//
// input: {"doc_id": "store/<id>/day/2026-01-02", "updates": ["<base64 Yjs update>", ...]}
// output: {"doc_id", "kind", "collections": {name: {key: entity}}, "conflicts": [...],
//          "unreadable": [...]}; a flat collection maps each setting to its value.

import { readFileSync } from 'node:fs'
import * as Y from 'yjs'
import { readEntity, withDefaults } from './compact.mjs'
import { cellsByField, conflicts, winners } from './stamped.mjs'

function option (args, name) {
  const at = args.indexOf(name)
  if (at < 0 || at + 1 >= args.length) {
    throw new Error(`usage: decode.mjs ${name} FILE < input.json`)
  }
  return args[at + 1]
}

/** The layout's document whose id template ("org/{org_id}/catalog") matches `docId`. */
function documentOf (layout, docId) {
  for (const [kind, doc] of Object.entries(layout.documents)) {
    const parts = doc.id.split(/\{[a-z_]+\}/).map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    if (new RegExp(`^${parts.join('[^/]+')}$`).test(docId)) return { kind, ...doc }
  }
  throw new Error(`no document of the layout has an id like ${docId}`)
}

function applyAll (updates) {
  const doc = new Y.Doc()
  for (const text of updates) Y.applyUpdate(doc, new Uint8Array(Buffer.from(text, 'base64')))
  // Updates that build on ones not given wait as pending: the document would be incomplete.
  if (doc.store.pendingStructs !== null || doc.store.pendingDs !== null) {
    throw new Error('some updates build on updates that were not given: the document is incomplete')
  }
  return doc
}

function readCollection (layout, doc, docId, name, collection, out) {
  const root = doc.getMap(name)
  const entities = {}
  const lost = (found, entityId) => found.map((c) => ({
    doc_id: docId, collection: name, entity_id: entityId, ...c
  }))
  const unreadable = (key, error) => {
    out.unreadable.push({ collection: name, key, error: `${error}` })
  }
  if (collection.mode === 'flat') {
    // The cells of every setting side by side in the collection's own map.
    try {
      for (const [field, cells] of cellsByField(root.entries())) {
        entities[field] = cells[0].value
        out.conflicts.push(...lost(conflicts(new Map([[field, cells]])), field))
      }
    } catch (error) {
      unreadable(null, error)
    }
    return entities
  }
  for (const [key, raw] of root.entries()) {
    try {
      if (collection.mode === 'encoded') {
        entities[key] = readEntity(layout, collection.struct, key, raw)
      } else if (raw instanceof Y.Map) {
        const byField = cellsByField(raw.entries())
        entities[key] = { ...withDefaults(layout, collection.struct, winners(byField)), id: key }
        out.conflicts.push(...lost(conflicts(byField), key))
      } else {
        throw new Error('not a map of cells')
      }
    } catch (error) {
      unreadable(key, error)
    }
  }
  return entities
}

function main () {
  const layout = JSON.parse(readFileSync(option(process.argv, '--layout'), 'utf8'))
  const input = JSON.parse(readFileSync(0, 'utf8'))
  const described = documentOf(layout, input.doc_id)
  const doc = applyAll(input.updates)
  const out = {
    doc_id: input.doc_id, kind: described.kind, collections: {}, conflicts: [], unreadable: []
  }
  for (const [name, collection] of Object.entries(described.collections)) {
    out.collections[name] = readCollection(layout, doc, input.doc_id, name, collection, out)
  }
  process.stdout.write(JSON.stringify(out) + '\n')
}

main()
