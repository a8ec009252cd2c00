"""Nurture's models, one module per part (segments, suppression, email, sending, pacing,
offers...)."""

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
from leadflow.nurture.models.tracking import EmailEngagement, EngagementKind

__all__ = [
    "DKIM_KEY_ENV_PREFIX",
    "PASSWORD_ENV_PREFIX",
    "SETTLED",
    "ContactPacing",
    "ContactPreferences",
    "Delivery",
    "DeliveryStatus",
    "EmailEngagement",
    "EngagementKind",
    "Frequency",
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
    "Suppression",
    "SuppressionReason",
    "TlsMode",
    "Topic",
    "TopicOptOut",
    "address_hash",
]
