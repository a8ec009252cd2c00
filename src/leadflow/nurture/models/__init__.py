"""Nurture's models, one module per part (segments, suppression, email, sending...)."""

from leadflow.nurture.models.email import (
    DKIM_KEY_ENV_PREFIX,
    PASSWORD_ENV_PREFIX,
    SETTLED,
    Delivery,
    DeliveryStatus,
    MarketingTemplate,
    Message,
    SendingIdentity,
    SmtpSettings,
    TlsMode,
)

__all__ = [
    "DKIM_KEY_ENV_PREFIX",
    "PASSWORD_ENV_PREFIX",
    "SETTLED",
    "Delivery",
    "DeliveryStatus",
    "MarketingTemplate",
    "Message",
    "SendingIdentity",
    "SmtpSettings",
    "TlsMode",
]
