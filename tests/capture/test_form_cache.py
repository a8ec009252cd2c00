"""The public endpoints keep a form for a few seconds instead of reading it per submission."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from leadflow.capture import selectors
from leadflow.core import cache


def test_a_form_is_read_once_per_interval(lead_form, settings):
    settings.LEADFLOW_PUBLIC_CACHE_SECONDS = 60
    cache.clear()
    with CaptureQueriesContext(connection) as queries:
        first = selectors.form_by_key(lead_form.key)
        second = selectors.form_by_key(lead_form.key)
    assert first.pk == second.pk == lead_form.pk
    assert len(queries.captured_queries) == 1
    settings.LEADFLOW_PUBLIC_CACHE_SECONDS = 0
    lead_form.name = "Renamed"
    lead_form.save()
    assert selectors.form_by_key(lead_form.key).name == "Renamed"  # no cache: always fresh
    assert selectors.form_by_key("f_unknown") is None
    cache.clear()
