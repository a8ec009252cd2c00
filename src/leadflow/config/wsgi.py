"""WSGI entry point: LeadFlow's web tier is served through WSGI (see docs/decisions)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadflow.config.settings")
application = get_wsgi_application()
