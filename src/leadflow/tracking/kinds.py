"""The activity kinds tracking writes, registered in ``TrackingConfig.ready``."""

from leadflow.contacts.activity_kinds import (
    ActivityKindDefinition,
    activity_kind_register,
)

VISITOR_LINKED = "visitor.linked"


def tracking_kinds_register() -> None:
    activity_kind_register(
        ActivityKindDefinition(
            key=VISITOR_LINKED,
            label="Browser recognised",
            payload_fields=("visitor", "reason", "previous_contact_id", "sessions"),
        )
    )
