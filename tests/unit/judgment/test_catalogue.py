"""The catalogue and the checks stay in step: every emitted id is explained, every entry is checked."""

from __future__ import annotations

from observatory.catalogue import catalogue
from observatory.checks import all_check_ids
from observatory.grading import CAPS


def test_every_check_has_a_catalogue_entry() -> None:
    assert all_check_ids() - set(catalogue()) == set()


def test_every_catalogue_entry_has_a_check() -> None:
    assert set(catalogue()) - all_check_ids() == set()


def test_every_cap_names_a_catalogue_entry() -> None:
    assert set(CAPS) - set(catalogue()) == set()


def test_entries_explain_themselves() -> None:
    for entry in catalogue().values():
        assert entry.title[0].isupper() or entry.title[0].isdigit(), entry.id
        assert len(entry.why) > 40, entry.id
        assert entry.fix, entry.id
        assert entry.references, entry.id


def test_ids_are_grouped_by_family() -> None:
    families = {finding_id.split(".")[0] for finding_id in catalogue()}
    assert families <= {"tls", "xmpp", "dns", "dane", "cert", "endpoint", "posh"}
