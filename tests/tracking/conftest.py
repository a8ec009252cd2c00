# The lead-capture fixtures, for tests of identity stitching through forms.
from tests.capture.conftest import lead_form  # noqa: F401
