"""The org's owners in its people document: written by the relay, never by an appliance.

An appliance may not create or change an owner (cloud.relay.policy): one device of one store
could otherwise make itself an owner everywhere. So the owners a store's staff list shows come
from the relay's owner accounts. Each account is seated in the people document as an employee
with the account's id, role owner and email, the first time an appliance of the org enrolls
(the appliance then gives each owner a first PIN at its store). Seating is idempotent: an owner
already there is left as it is.
"""

from __future__ import annotations

import pycrdt

from cloud.relay.documents import Documents
from cloud.relay.storage.base import Storage
from shared.schemas import stamped
from shared.schemas.documents import people_doc
from shared.schemas.stamped import Stamping
from shared.schemas.sync import PushAck

OWNER_NAME = "Owner"  # owner accounts have an email, not a name; an owner renames on the relay


async def seat_owners(storage: Storage, documents: Documents, org_id: str) -> PushAck | None:
    """Add the org's owner accounts missing from its people document; the append (None when
    every owner was there)."""
    owners = await storage.list_owners(org_id)

    def seat(doc: pycrdt.Doc, stamping: Stamping) -> int:
        employees = doc.get("employees", type=pycrdt.Map)
        missing = [o for o in owners if o.id not in employees]
        for owner in missing:
            fields = {"id": owner.id, "name": OWNER_NAME, "role": "owner", "email": owner.email,
                      "active": True}  # fmt: skip
            employees[owner.id] = pycrdt.Map(stamped.new_cells(fields, stamping))
        return len(missing)

    return (await documents.edit(people_doc(org_id), seat)).ack
