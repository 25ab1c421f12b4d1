"""Domains the site must not scan (their owners asked), and forgetting a domain's stored scans."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from observatory.storage.repository import SCANS, begin_write
from observatory.storage.schema import BlockedDomain

BLOCKED = BlockedDomain.__table__


@dataclass(frozen=True)
class Block:
    domain: str
    reason: str | None
    created_at: datetime


def _parents(domain: str) -> list[str]:
    labels = domain.split(".")
    return [".".join(labels[i:]) for i in range(len(labels))]


def block(session: Session, *, domain: str, reason: str | None = None) -> bool:
    """Block ``domain`` and its subdomains; False if it already was (its reason is kept)."""
    begin_write(session)
    if session.execute(select(BLOCKED.c.domain).where(BLOCKED.c.domain == domain)).first() is not None:
        session.commit()
        return False
    session.execute(BLOCKED.insert(), {"domain": domain, "reason": reason, "created_at": datetime.now(UTC)})
    session.commit()
    return True


def unblock(session: Session, *, domain: str) -> bool:
    """Remove ``domain``'s own entry; False if there was none."""
    begin_write(session)
    removed = session.execute(delete(BLOCKED).where(BLOCKED.c.domain == domain)).rowcount
    session.commit()
    return bool(removed)


def blocks(session: Session) -> list[Block]:
    rows = session.execute(select(BLOCKED.c.domain, BLOCKED.c.reason, BLOCKED.c.created_at).order_by(BLOCKED.c.domain))
    return [Block(*row) for row in rows]


def blocking(session: Session, *, domain: str) -> Block | None:
    """The entry that blocks ``domain`` (its own, or a parent domain's), if any."""
    row = session.execute(
        select(BLOCKED.c.domain, BLOCKED.c.reason, BLOCKED.c.created_at)
        .where(BLOCKED.c.domain.in_(_parents(domain)))
        .order_by(BLOCKED.c.domain.desc())
    ).first()
    return Block(*row) if row is not None else None


def forget(session: Session, *, domain: str) -> int:
    """Delete every stored scan of ``domain`` (its endpoint, certificate and finding rows go with them);
    how many. Scans still queued or running are deleted too: their runner finds nothing to finish."""
    begin_write(session)
    removed = session.execute(delete(SCANS).where(SCANS.c.domain == domain)).rowcount
    session.commit()
    return int(removed)
