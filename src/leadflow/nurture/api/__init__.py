"""Nurture over the REST API (/api/v1), one module per part, their routers joined here."""

from ninja import Router

router = Router()
