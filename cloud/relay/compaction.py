"""The relay's compactor: folds the long, settled part of each document's log into segments.

A busy store pushes hundreds of updates a day into its day document; kept as a log they make every
fresh replica replay them one by one and the relay's storage grow. Every ``interval_s`` the
compactor asks storage for the documents holding at least ``min_updates`` rows older than
``min_age_s`` and folds those rows into new segments (each a bounded run of the log, never
rewritten: a pass costs what it folds, not the whole document); a short log is folded too once it
has been left alone a day. Young rows stay in the log: an appliance that is a few minutes behind
then pulls a small tail rather than segments.

Safe to kill at any point: a segment is built from a read, and the swap is one transaction that
gives up when another compaction (another relay process on the same PostgreSQL) swapped first.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from cloud.relay.storage.base import Storage
from shared.ids import now_ms
from shared.schemas.documents import DOC_BUDGET_BYTES
from shared.tasks import cancel_and_wait

log = logging.getLogger("fynlo.relay.compaction")
BATCH = 32  # documents per pass: one pass never holds the storage for long
SEGMENTS_PER_PASS = 8  # per document: a long backlog is folded over a few passes
# A log that stays short (a quiet day, a settings document) is folded once nobody has written to it
# for this long, so unfolded rows never pile up over months for every pass to scan again.
SETTLED_MS = 24 * 60 * 60 * 1000


@dataclass
class CompactionStats:
    segments: int = 0  # segments swapped in
    failures: int = 0
    over_budget: set[str] = field(default_factory=set)  # documents above DOC_BUDGET_BYTES


class Compactor:
    """One per relay process; ``start``/``stop`` around the app's lifetime."""

    def __init__(
        self,
        storage: Storage,
        *,
        interval_s: float,
        min_updates: int,
        min_age_s: float,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self._storage = storage
        self._interval_s = interval_s
        self._min_updates = min_updates
        self._min_age_ms = round(min_age_s * 1000)
        self._clock = clock
        self._task: asyncio.Task[None] | None = None
        self.stats = CompactionStats()

    async def start(self) -> None:
        if self._task is not None:
            raise RuntimeError("compactor already started")
        self._task = asyncio.create_task(self._run(), name="compaction")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def run_once(self) -> int:
        """One pass over the documents worth compacting now; how many were compacted."""
        now = self._clock()
        before_ms = now - self._min_age_ms
        doc_ids = await self._storage.long_logs(self._min_updates, before_ms, BATCH)
        if len(doc_ids) < BATCH:
            settled = await self._storage.long_logs(1, now - SETTLED_MS, BATCH)
            doc_ids += [d for d in settled if d not in doc_ids][: BATCH - len(doc_ids)]
        done = 0
        for doc_id in doc_ids:
            folded = await self._fold(doc_id, before_ms)
            if folded:
                done += 1
                self._check_budget(doc_id, await self._storage.doc_bytes(doc_id))
        return done

    async def _fold(self, doc_id: str, before_ms: int) -> int:
        """Fold a few segments' worth of ``doc_id``'s settled log; how many were swapped in."""
        swapped = 0
        for _ in range(SEGMENTS_PER_PASS):
            started = time.perf_counter()
            segment = await self._storage.build_segment(doc_id, before_ms)
            if segment is None:
                break
            # Logged between the build and the swap: a kill after this line lands mid-compaction.
            log.debug("compacting %s: folding up to seq %d", doc_id, segment.upto_seq)
            if not await self._storage.swap_segment(doc_id, segment, self._clock()):
                break  # another relay process compacted it first, which is as good
            swapped += 1
            self.stats.segments += 1
            log.info(
                "compacted %s: %d updates up to seq %d into %d bytes in %.0f ms",
                doc_id,
                segment.rows,
                segment.upto_seq,
                len(segment.body),
                (time.perf_counter() - started) * 1000,
            )
        return swapped

    def _check_budget(self, doc_id: str, size: int) -> None:
        if size > DOC_BUDGET_BYTES:
            if doc_id not in self.stats.over_budget:
                log.warning(
                    "%s holds %d bytes, above the %d-byte budget of a document",
                    doc_id,
                    size,
                    DOC_BUDGET_BYTES,
                )
            self.stats.over_budget.add(doc_id)
        else:
            self.stats.over_budget.discard(doc_id)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            try:
                await self.run_once()
            except Exception:  # a database hiccup: log it and try again next pass
                self.stats.failures += 1
                log.exception("compaction pass failed")
