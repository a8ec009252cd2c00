"""Nurture's models, one module per part (segments, suppression, email, sending, pacing,
offers...)."""

from leadflow.nurture.models.bounces import (
    MAILBOX_PASSWORD_ENV_PREFIX,
    MAILGUN_KEY_ENV_PREFIX,
    Bounce,
    BounceKind,
    BounceSettings,
    MailboxKind,
    SoftBounceRun,
)
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
from leadflow.nurture.models.offers import Offer, OfferCode, OfferKind
from leadflow.nurture.models.pacing import ContactPacing, MarketingSend, PacingSettings
from leadflow.nurture.models.segments import MemberSource, Segment, SegmentKind, SegmentMember
from leadflow.nurture.models.suppression import (
    ContactPreferences,
    Frequency,
    Suppression,
    SuppressionReason,
    Topic,
    TopicOptOut,
    address_hash,
)

__all__ = [
    "DKIM_KEY_ENV_PREFIX",
    "MAILBOX_PASSWORD_ENV_PREFIX",
    "MAILGUN_KEY_ENV_PREFIX",
    "PASSWORD_ENV_PREFIX",
    "SETTLED",
    "Bounce",
    "BounceKind",
    "BounceSettings",
    "ContactPacing",
    "ContactPreferences",
    "Delivery",
    "DeliveryStatus",
    "Frequency",
    "MailboxKind",
    "MarketingSend",
    "MarketingTemplate",
    "MemberSource",
    "Message",
    "Offer",
    "OfferCode",
    "OfferKind",
    "PacingSettings",
    "Segment",
    "SegmentKind",
    "SegmentMember",
    "SendingIdentity",
    "SmtpSettings",
    "SoftBounceRun",
    "Suppression",
    "SuppressionReason",
    "TlsMode",
    "Topic",
    "TopicOptOut",
    "address_hash",
]
