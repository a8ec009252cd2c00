"""Nurture's models, one module per part (segments, suppression, email, sending...)."""

from leadflow.nurture.models.segments import MemberSource, Segment, SegmentKind, SegmentMember

__all__ = ["MemberSource", "Segment", "SegmentKind", "SegmentMember"]
