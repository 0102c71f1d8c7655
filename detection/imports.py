"""The record of every extract validation (an import), accepted or rejected, in `detection_imports`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, Date, DateTime, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from detection.models import Base
from detection.validation import ExtractRejected, ValidatedExtract

ACCEPTED = "accepte"
REJECTED = "rejete"


class ImportRecord(Base):
    """One validation of an extract file: what was read, the outcome and every problem found."""

    __tablename__ = "detection_imports"
    __table_args__ = (
        CheckConstraint("outcome IN ('accepte', 'rejete')", name="ck_detection_imports_outcome"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    file_path: Mapped[str] = mapped_column(String(4096))
    content_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    file_format: Mapped[str | None] = mapped_column(String(16))
    row_count: Mapped[int | None] = mapped_column(BigInteger)
    mois_reference: Mapped[dt.date | None] = mapped_column(Date)
    outcome: Mapped[str] = mapped_column(String(16), index=True)
    problems: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    dropped_columns: Mapped[list[str]] = mapped_column(JSON)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


def record_import(session: Session, result: ValidatedExtract | ExtractRejected) -> int:
    """Record one validation (accepted extract or rejection) and return the id of the import."""
    if isinstance(result, ValidatedExtract):
        record = ImportRecord(
            file_path=str(result.path),
            content_hash=result.content_hash,
            file_format=result.file_format,
            row_count=result.rows,
            mois_reference=result.mois_reference,
            outcome=ACCEPTED,
            problems=[],
            dropped_columns=list(result.dropped_columns),
            started_at=result.started_at,
            finished_at=result.finished_at,
        )
    else:
        record = ImportRecord(
            file_path=str(result.path),
            content_hash=result.content_hash,
            file_format=result.file_format,
            row_count=result.rows,
            mois_reference=result.mois_reference,
            outcome=REJECTED,
            problems=[problem.as_dict() for problem in result.problems],
            dropped_columns=list(result.dropped_columns),
            started_at=result.started_at,
            finished_at=result.finished_at,
        )
    session.add(record)
    session.flush()
    return record.id


def imports_of(session: Session, content_hash: str) -> list[ImportRecord]:
    """Every import of a file with these bytes, oldest first."""
    query = select(ImportRecord).where(ImportRecord.content_hash == content_hash).order_by(ImportRecord.id)
    return list(session.scalars(query))
