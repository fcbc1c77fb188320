"""Query and path parameters several areas take, with the bounds their schema documents.

A value out of format is refused by Litestar with a 400 before the handler runs; a day in format
that is no calendar day (2025-02-30) is the domain's 422.
"""

from __future__ import annotations

from typing import Annotated

from litestar.params import Parameter

from shared.schemas.fields import DAY_PATTERN

DAY = "a business day, YYYY-MM-DD"
DayPath = Annotated[str, Parameter(pattern=DAY_PATTERN, description=DAY)]
DayQuery = Annotated[str | None, Parameter(pattern=DAY_PATTERN, description=DAY)]
