"""Re-grading stored scans under the current rules: the facts are read back (never rewritten), judged
again by the function the caller passes, and the new judgment replaces the old one.

The rules are a parameter (``judge``), not an import: storage depends on no particular grading code,
and tests pass a trivial judge.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from observatory.model import ScanFacts, ScanResult
from observatory.profiles import with_profiles
from observatory.storage.diff import ScanDiff, diff_results
from observatory.storage.errors import SkippedScan
from observatory.storage.records import RowError, ScanStatus, facts_of, result_of
from observatory.storage.repository import begin_write, replace_judgment
from observatory.storage.schema import ScanRow

Judge = Callable[[ScanFacts], ScanResult]


@dataclass(frozen=True)
class Rescored:
    scan_id: int
    domain: str
    old_rules_version: str | None
    new_rules_version: str
    #: Old judgment → new one; None when the old judgment could not be read (it was replaced anyway).
    diff: ScanDiff | None

    @property
    def changed(self) -> bool:
        return self.diff is None or self.diff.changed


@dataclass
class RescoreReport:
    rescored: list[Rescored] = field(default_factory=list)
    skipped: list[SkippedScan] = field(default_factory=list)

    @property
    def changed(self) -> list[Rescored]:
        return [scan for scan in self.rescored if scan.changed]


def _judge(stored_facts: Any, stored_result: Any, judge: Judge) -> tuple[ScanResult, ScanDiff | None]:
    facts = facts_of(stored_facts)
    try:
        result = judge(facts)
    except Exception as exc:  # the rules are not ours to trust: one scan they fail on must not stop the rest
        raise RowError(f"the rules failed on its facts ({type(exc).__name__}: {exc})") from None
    if result.to_facts() != facts:
        raise RowError("the rules changed its facts, which are never rewritten")
    try:
        old = result_of(stored_result)
    except RowError:
        return result, None
    if old.profiles:
        # The profiles asked for at scan time are judged again too, under the current rules.
        result = with_profiles(result, [profile.id for profile in old.profiles])
    return result, diff_results(old, result)


def rescore(
    session: Session,
    *,
    judge: Judge,
    domain: str | None = None,
    skip_rules_version: str | None = None,
    batch_size: int = 200,
) -> RescoreReport:
    """Judge the facts of every done scan (of ``domain``, if given) again and store the new judgment.

    ``skip_rules_version``: leave scans already judged under this rules version alone. Work goes in
    batches: each is read, judged outside any transaction, then written in one transaction, so a
    re-grade of a large database neither holds the write lock long nor keeps every document in memory.
    """
    report = RescoreReport()
    last_id = 0
    while True:
        query = (
            select(ScanRow.id, ScanRow.domain, ScanRow.rules_version, ScanRow.facts, ScanRow.result)
            .where(ScanRow.status == ScanStatus.DONE.value, ScanRow.id > last_id)
            .order_by(ScanRow.id)
            .limit(batch_size)
        )
        if domain is not None:
            query = query.where(ScanRow.domain == domain)
        if skip_rules_version is not None:
            query = query.where((ScanRow.rules_version != skip_rules_version) | ScanRow.rules_version.is_(None))
        rows = session.execute(query).all()
        session.rollback()  # end the read: judging may take a while and must not hold a snapshot
        if not rows:
            return report
        last_id = rows[-1].id
        judged: list[Rescored] = []
        results: dict[int, ScanResult] = {}
        for scan_id, scan_domain, old_rules, stored_facts, stored_result in rows:
            try:
                result, diff = _judge(stored_facts, stored_result, judge)
            except RowError as exc:
                report.skipped.append(SkippedScan(scan_id, str(exc)))
                continue
            results[scan_id] = result
            judged.append(Rescored(scan_id, scan_domain, old_rules, result.rules_version, diff))
        begin_write(session)
        for scan in judged:
            if replace_judgment(session, scan_id=scan.scan_id, result=results[scan.scan_id]):
                report.rescored.append(scan)
            else:
                report.skipped.append(SkippedScan(scan.scan_id, "it was deleted or changed while being re-graded"))
        session.commit()
