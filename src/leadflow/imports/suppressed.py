"""Imports and the suppression list: a file cannot opt back in someone who unsubscribed,
bounced or complained. Asked through ``contacts.suppression`` (the list is nurture's, an
app above imports), once a chunk."""

from collections.abc import Iterator

from leadflow.contacts.importwrite import ImportRow, RowProblem
from leadflow.contacts.models import ConsentStatus
from leadflow.contacts.suppression import emails_suppressed
from leadflow.core.models import Workspace

CONSENT_GRANTING = frozenset({ConsentStatus.GRANTED, ConsentStatus.CONFIRMED})


def suppressed_keep_their_consent(
    workspace: Workspace,
    chunks: Iterator[tuple[int, list[ImportRow], list[RowProblem]]],
) -> Iterator[tuple[int, list[ImportRow], list[RowProblem]]]:
    """The chunks, where a row that would grant consent to an address on the suppression
    list (``contacts.suppression.emails_suppressed``: one look-up a chunk) is stored
    without its consent value and with a warning: a file cannot opt back in someone who
    unsubscribed, bounced or complained."""
    try:
        for size, rows, failed in chunks:
            granting = [
                row
                for row in rows
                if row.clean.get("email") and row.clean.get("consent_status") in CONSENT_GRANTING
            ]
            suppressed = (
                emails_suppressed(workspace.pk, [row.clean["email"] for row in granting])
                if granting
                else {}
            )
            for row in granting:
                reason = suppressed.get(row.clean["email"].lower())
                if reason:
                    del row.clean["consent_status"]
                    row.warnings.append(
                        (
                            "consent_status",
                            f"The address is on the suppression list ({reason}): "
                            "consent was not granted.",
                        )
                    )
            yield size, rows, failed
    finally:
        chunks.close()  # stops the helper process
