"""Logging to whatever standard error is when a record is written.

Django configures logging once per process; a plain StreamHandler keeps the stream it
found then. When standard error is replaced later (a test capturing output, a supervisor
reopening it) that stream may be closed and every record fails with "Logging error".
"""

import logging
import sys


class StderrHandler(logging.StreamHandler):
    def __init__(self) -> None:
        super().__init__(stream=sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass  # always the current sys.stderr
