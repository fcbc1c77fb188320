"""The relay's compactor: folds the long, settled part of each document's log into its snapshot.

A busy store pushes hundreds of updates a day into its day document; kept as a log they make every
fresh replica replay them one by one and the relay's storage grow. Every ``interval_s`` the
compactor asks storage for the documents holding at least ``min_updates`` rows older than
``min_age_s`` and folds those rows; a short log is folded too once it has been left alone a
day. Young rows stay in the log: an appliance that is a few minutes behind then pulls a small
tail rather than the whole snapshot.

Safe to kill at any point: the merge is built from a read, and the swap is one transaction that
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
# A log that stays short (a quiet day, a settings document) is folded once nobody has written to it
# for this long, so unfolded rows never pile up over months for every pass to scan again.
SETTLED_MS = 24 * 60 * 60 * 1000


@dataclass
class CompactionStats:
    documents: int = 0  # snapshots swapped in
    failures: int = 0
    over_budget: set[str] = field(default_factory=set)  # documents whose snapshot is too big


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
            started = time.perf_counter()
            snapshot = await self._storage.build_snapshot(doc_id, before_ms)
            if snapshot is None:
                continue
            # Logged between the build and the swap: a kill after this line lands mid-compaction.
            log.debug("compacting %s: folding up to seq %d", doc_id, snapshot.upto_seq)
            if await self._storage.swap_snapshot(doc_id, snapshot, self._clock()):
                done += 1
                self.stats.documents += 1
                log.info(
                    "compacted %s up to seq %d into %d bytes in %.0f ms",
                    doc_id,
                    snapshot.upto_seq,
                    len(snapshot.body),
                    (time.perf_counter() - started) * 1000,
                )
                self._check_budget(doc_id, len(snapshot.body))
            # else: another relay process compacted it first, which is as good
        return done

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
