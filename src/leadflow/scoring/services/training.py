"""Training conversion models and writing predictions.

(Stub of the interface; filled in by the training work.)"""

from collections.abc import Iterable


def predictions_write(*, workspace_id: int, contact_ids: Iterable[int] | None = None) -> None:
    """Score these contacts (all when None) with the workspace's active model, if any:
    ``Prediction`` rows with factors, and ``Contact.conversion_probability``."""
