"""LeadFlow: self-hosted inbound lead generation and lead management."""

__version__ = "0.1.0"
