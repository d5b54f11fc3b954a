"""Publishing a gateway's stored program, retained, in the order revisions were made.

The API and the scheduler both go through :func:`publish_current`: it locks the program's row
(``SELECT … FOR UPDATE`` on PostgreSQL; SQLite serialises writers), publishes **the revision
stored now** (not the one the caller just wrote) and notes it published, in one transaction. Two
writers racing therefore cannot leave an older revision as the broker's retained copy.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from cloud.lighting.commands import Publish, send_program
from cloud.lighting.programs import program_set
from cloud.registry.models_lighting import LightingProgram
from eclor.clock import to_epoch_ms


def publish_current(
    session: Session, gateway_id: str, publish: Publish | None, now: datetime
) -> int | None:
    """The revision published, or ``None`` when there is no program or it could not be sent."""
    row = session.get(LightingProgram, gateway_id, with_for_update=True)
    if row is None:
        return None
    message = program_set(
        row.document,
        gateway_id=gateway_id,
        revision=row.revision,
        issued_at_ms=to_epoch_ms(row.updated_at),
    )
    if not send_program(publish, message):
        return None
    row.published_at = now
    return row.revision
