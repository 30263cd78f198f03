"""Rewrap: re-seal every sealed record that a non-primary key version wrapped.

The walk goes over a list of ``SealedRecordSource`` (credentials, then provider client
secrets), each in ascending key order, ``batch`` records per query. For each record:

* open every field (``EnvelopeCipher.open_all``: one KMS Decrypt per distinct wrapped
  key, so one for a record whose fields one write sealed). The key service says whether
  its primary version wrapped them (Cloud KMS ``used_primary``); such a record is
  ``already_current`` and costs nothing more;
* otherwise seal the plaintexts again under a fresh data key (one KMS Encrypt) and
  write them on the condition that the record has not changed since it was read: a
  concurrent store, refresh or delete wins, and the record is ``skipped_changed`` for
  the next pass to pick up;
* a record that does not open (tampered, or its version disabled) is ``failed`` and
  logged by id; the walk goes on, and the command exits non-zero.

So a record costs 1 KMS call when current and 2 when rewrapped (one more per field that
an earlier write sealed), and a rewrapped one 1 conditional write. At most ``workers``
records are in flight at once, and ``batch`` bounds each query. After each batch a
checkpoint (source, last key, counts) is saved in the state store; a run that finds
one resumes after it, so a crash or Ctrl-C loses at most one batch of progress, and
that batch's finished records are found current. A finished pass clears the
checkpoint and writes one audit entry (action ``rewrap``, actor ``vault``, the counts
as its outcome); an interrupted one writes one too, its outcome marked ``interrupted``.
``dry_run`` reads and unwraps only: it writes nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from vault import logs
from vault.errors import DependencyUnavailable, IntegrityError, VaultError
from vault.keys.envelope import EnvelopeCipher, wrapped_key
from vault.keys.ports import KeyVersionUnusable, SealedRecord, SealedRecordSource, StateStore
from vault.ports import AuditEntry
from vault.progress import Progress
from vault.timefmt import now_micros

COUNTS = ("scanned", "rewrapped", "already_current", "skipped_changed", "failed")


@dataclass(frozen=True, slots=True)
class RewrapPlan:
    batch: int = 100
    developer_id: str | None = None
    dry_run: bool = False
    pause_seconds: float = 0.0  # between batches, to bound the load further
    workers: int = 4  # records of a batch in flight at once (KMS and store calls)


def checkpoint_name(developer_id: str | None) -> str:
    if developer_id is None:
        return "rewrap"
    return "rewrap-" + hashlib.sha256(developer_id.encode("utf-8")).hexdigest()[:32]


class Rewrap:
    def __init__(
        self,
        envelope: EnvelopeCipher,
        sources: Sequence[SealedRecordSource],
        state: StateStore,
        record_audit: Callable[[AuditEntry], None],
    ) -> None:
        self._envelope = envelope
        self._sources = sources
        self._state = state
        self._record_audit = record_audit

    def run(self, plan: RewrapPlan) -> dict[str, Any]:
        """One pass; returns the summary (also printed by ``Progress``). Raises
        ``DependencyUnavailable`` (and ``KeyboardInterrupt``) after printing a summary
        marked ``interrupted``; the checkpoint then lets the next run resume."""
        name = checkpoint_name(plan.developer_id)
        checkpoint = None if plan.dry_run else self._state.load(name)
        carried = dict(checkpoint["counts"]) if checkpoint else {}
        run_id = checkpoint["runId"] if checkpoint else "rewrap_" + secrets.token_hex(8)
        total = sum(source.count(plan.developer_id) for source in self._sources)
        progress = Progress("rewrap", COUNTS, total=total, initial=carried)
        extra = {"dry_run": plan.dry_run, "resumed_after": carried.get("scanned", 0)}
        try:
            self._walk(plan, name, run_id, checkpoint, progress)
        except (DependencyUnavailable, KeyboardInterrupt) as stop:
            progress.finish(**extra, interrupted=type(stop).__name__)
            if not plan.dry_run:
                with contextlib.suppress(VaultError):  # the store may be what failed
                    self._record_audit(self._audit(plan, run_id, progress.counts, "interrupted "))
            raise
        if not plan.dry_run:
            self._state.clear(name)
            self._record_audit(self._audit(plan, run_id, progress.counts))
        return progress.finish(**extra)

    def _walk(
        self,
        plan: RewrapPlan,
        name: str,
        run_id: str,
        checkpoint: dict[str, Any] | None,
        progress: Progress,
    ) -> None:
        names = [source.name for source in self._sources]
        start = names.index(checkpoint["source"]) if checkpoint else 0
        # Records of a batch are handled by a few threads (KMS and Firestore calls wait
        # on the network); a stop cancels what has not started.
        pool = ThreadPoolExecutor(max_workers=plan.workers, thread_name_prefix="rewrap")
        try:
            for index, source in enumerate(self._sources[start:], start):
                after = checkpoint["after"] if checkpoint and index == start else None
                self._walk_source(plan, name, run_id, source, after, progress, pool)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _walk_source(
        self,
        plan: RewrapPlan,
        name: str,
        run_id: str,
        source: SealedRecordSource,
        after: str | None,
        progress: Progress,
        pool: ThreadPoolExecutor,
    ) -> None:
        while True:
            records = source.scan(after, plan.batch, plan.developer_id)
            handled = [pool.submit(self._one, source, record, plan.dry_run) for record in records]
            for outcome in handled:
                progress.advance(1, scanned=1, **{outcome.result(): 1})
            if not records:
                break
            after = records[-1].key
            if not plan.dry_run:
                self._state.save(
                    name,
                    {
                        "runId": run_id,
                        "source": source.name,
                        "after": after,
                        "counts": progress.counts,
                    },
                )
            if len(records) < plan.batch:
                break
            if plan.pause_seconds:
                time.sleep(plan.pause_seconds)

    def _one(self, source: SealedRecordSource, record: SealedRecord, dry_run: bool) -> str:
        try:
            plaintexts, current = self._envelope.open_all(record.binding, record.blobs)
        except (IntegrityError, KeyVersionUnusable) as error:
            logs.emit(
                "ERROR",
                "rewrap could not open a sealed record",
                source=source.name,
                recordId=record.key,
                errorType=type(error).__name__,
            )
            return "failed"
        if current:
            return "already_current"
        if dry_run:
            return "rewrapped"  # would be
        sealed = self._envelope.seal(record.binding, plaintexts)
        return "rewrapped" if source.replace(record, sealed) else "skipped_changed"

    @staticmethod
    def _audit(
        plan: RewrapPlan, run_id: str, counts: dict[str, int], prefix: str = ""
    ) -> AuditEntry:
        return AuditEntry(
            entry_id="au_" + secrets.token_hex(12),
            action="rewrap",
            developer_id=plan.developer_id or "",
            actor="vault",
            credential_id=None,
            principal_id="",
            service=None,
            request_id=run_id,
            at=now_micros(),
            outcome=prefix + " ".join(f"{name}={counts.get(name, 0)}" for name in COUNTS),
        )


def census(
    sources: Sequence[SealedRecordSource],
    version_of: Callable[[bytes], int | None],
    batch: int = 500,
) -> Counter[int | None]:
    """How many records each key version wraps (a record counts once per version it
    uses; None: a version the ring does not know). Reads only; no key is used."""
    found: Counter[int | None] = Counter()
    for source in sources:
        after = None
        while records := source.scan(after, batch, None):
            for record in records:
                versions = set()
                for blob in record.blobs.values():
                    try:
                        versions.add(version_of(wrapped_key(blob)))
                    except IntegrityError:
                        versions.add(None)
                found.update(versions)
            after = records[-1].key
    return found
