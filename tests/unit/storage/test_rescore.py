"""Re-grading stored facts with a trivial judge: new judgments stored, facts untouched, changes reported,
bad rows skipped with a reason."""

from __future__ import annotations

import json

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from observatory.model import ScanFacts, ScanResult
from observatory.storage.records import ScanStatus
from observatory.storage.repository import create_scan, get_scan, save_result
from observatory.storage.rescore import rescore
from observatory.storage.schema import EndpointRow, FindingRow, ScanRow
from scanners.base import ServiceKind
from tests.unit.storage.support import result_for, stricter_judge


def _facts_text(session: Session, scan_id: int) -> str:
    # Compared as the database returns them, so "never rewritten" means exactly that.
    return json.dumps(session.execute(select(ScanRow.facts).where(ScanRow.id == scan_id)).scalar_one(), sort_keys=True)


def test_rescore_stores_the_new_judgment_and_keeps_the_facts(session: Session) -> None:
    # Given two stored scans judged under rules 2026.1 and a queued one,
    first = save_result(session, result=result_for("a.example"))
    second = save_result(session, result=result_for("b.example"))
    create_scan(session, request=result_for("c.example").request)
    facts_before = {scan_id: _facts_text(session, scan_id) for scan_id in (first, second)}
    # when they are re-graded under the stricter rules,
    report = rescore(session, judge=stricter_judge)
    # then both done scans were judged again, and the report says what changed,
    assert [scan.scan_id for scan in report.rescored] == [first, second]
    assert not report.skipped
    change = report.rescored[0]
    assert (change.old_rules_version, change.new_rules_version) == ("2026.1", "2027.1")
    assert change.changed
    assert change.diff is not None
    assert change.diff.changed_services[0].grade is not None
    assert str(change.diff.changed_services[0].grade) == "A → B"
    assert [f.id for f in change.diff.findings_added] == ["rules.stricter"]
    # the new judgment is what is read back, in the document and in the columns,
    stored = get_scan(session, scan_id=first)
    assert stored is not None
    assert stored.result is not None
    assert stored.result.rules_version == "2027.1"
    assert stored.summary.rules_version == "2027.1"
    assert stored.summary.grades[ServiceKind.C2S].letter == "B"
    assert stored.summary.judged_at is not None
    grades = session.scalars(select(EndpointRow.grade).where(EndpointRow.scan_id == first)).all()
    assert sorted(grades, key=str) == sorted(["B", "B", "B", None], key=str)
    assert session.scalars(select(FindingRow.finding).where(FindingRow.scan_id == first)).all() == ["rules.stricter"]
    # and the facts are exactly as they were saved.
    assert {scan_id: _facts_text(session, scan_id) for scan_id in (first, second)} == facts_before


def test_rescore_under_the_same_rules_changes_nothing(session: Session) -> None:
    save_result(session, result=result_for())
    rescore(session, judge=stricter_judge)
    report = rescore(session, judge=stricter_judge)
    assert len(report.rescored) == 1
    assert report.changed == []


def test_rescore_can_leave_scans_at_the_current_rules_alone(session: Session) -> None:
    done = save_result(session, result=result_for("a.example"))
    rescore(session, judge=stricter_judge, domain="a.example")
    other = save_result(session, result=result_for("b.example"))
    report = rescore(session, judge=stricter_judge, skip_rules_version="2027.1")
    assert [scan.scan_id for scan in report.rescored] == [other]
    assert done != other


def test_rescore_works_in_batches(session: Session) -> None:
    ids = [save_result(session, result=result_for(minutes=i)) for i in range(7)]
    report = rescore(session, judge=stricter_judge, batch_size=3)
    assert [scan.scan_id for scan in report.rescored] == ids


def test_rescore_skips_what_it_cannot_judge_and_says_why(session: Session) -> None:
    good = save_result(session, result=result_for("good.example"))
    unreadable = save_result(session, result=result_for("unreadable.example"))
    failing = save_result(session, result=result_for("failing.example"))
    meddling = save_result(session, result=result_for("meddling.example"))
    lost_judgment = save_result(session, result=result_for("lost.example"))
    session.execute(text("UPDATE scans SET facts = '{broken' WHERE id = :id"), {"id": unreadable})
    session.execute(text("UPDATE scans SET result = 'null' WHERE id = :id"), {"id": lost_judgment})
    session.commit()

    def judge(facts: ScanFacts) -> ScanResult:
        if facts.domain == "failing.example":
            raise ZeroDivisionError("a bug in a rule")
        result = stricter_judge(facts)
        if facts.domain == "meddling.example":
            return result.model_copy(update={"domain": "elsewhere.example"})
        return result

    report = rescore(session, judge=judge)
    assert [scan.scan_id for scan in report.rescored] == [good, lost_judgment]
    # A judgment that could not be read is replaced, and counted as a change (unknown before).
    assert report.rescored[1].diff is None
    assert report.rescored[1].changed
    reasons = {skipped.scan_id: skipped.reason for skipped in report.skipped}
    assert set(reasons) == {unreadable, failing, meddling}
    assert "its facts document is not JSON" in reasons[unreadable]
    assert "the rules failed on its facts (ZeroDivisionError: a bug in a rule)" in reasons[failing]
    assert "changed its facts" in reasons[meddling]
    # Skipped scans keep their old judgment.
    kept = session.get(ScanRow, failing)
    assert kept is not None
    assert (kept.rules_version, kept.status) == ("2026.1", ScanStatus.DONE.value)


def test_rescore_judges_the_profiles_asked_for_at_scan_time_again(session: Session) -> None:
    from observatory.judge import judge
    from observatory.profiles import with_profiles

    # Given a scan stored with the BCP 195 profile judged,
    stored = with_profiles(judge(result_for().to_facts()), ["bcp195"])
    scan_id = save_result(session, result=stored)
    # when it is re-graded with the real judge (which knows nothing of profiles),
    rescore(session, judge=judge)
    # then the profile is judged again and kept.
    again = get_scan(session, scan_id=scan_id)
    assert again is not None
    assert again.result is not None
    assert [profile.id for profile in again.result.profiles] == ["bcp195"]
