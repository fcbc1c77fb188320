"""Field types of the request bodies both the appliance and the relay accept, and their bounds.

The relay may not import ``edge``; what an edit accepts must not differ between the two sides, so
the constrained types live here, once.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

# Far below 2**53: CRDT documents carry numbers as JS doubles, and sums of a day's orders must
# stay exact there too.
MAX_MINOR = 10**12

UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"

Uuid = Annotated[str, msgspec.Meta(pattern=UUID_PATTERN, description="a UUID")]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
DecimalText = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
DAY_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
Day = Annotated[str, msgspec.Meta(pattern=DAY_PATTERN, description="a business day, YYYY-MM-DD")]
HHMM = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{2}:[0-9]{2}$", description="HH:MM")]
Currency = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$", description="ISO 4217, e.g. GBP")]
TimeZone = Annotated[str, msgspec.Meta(min_length=1, max_length=64, examples=["Europe/London"])]
# Bounds keep huge numbers out of documents (pycrdt); the domain names the rule it breaks.
Minor = Annotated[int, msgspec.Meta(ge=-MAX_MINOR, le=MAX_MINOR)]
Price = Annotated[int, msgspec.Meta(ge=0, le=MAX_MINOR)]
