"""Patterns written by marketers (form fields, custom fields, channel rules), run on what
anonymous visitors send.

They run on RE2 (google-re2), whose time is linear in the length of the text whatever the
pattern: Python's ``re`` backtracks, and ``(a+)+b`` took 9 s on 28 characters (see
docs/decisions/0016-marketer-patterns-on-re2.md). RE2 has no backreferences and no
look-around; a pattern that needs them is refused when it is saved (``pattern_problem``),
with a field error saying so. Differences a marketer may meet: ``\\d`` and ``\\w`` are ASCII
only, as in most pattern languages outside Python.
"""

import logging
from functools import lru_cache

import re2

logger = logging.getLogger(__name__)

MAX_PATTERN_LENGTH = 200
# RE2 compiles a pattern into at most this much memory; a larger one is refused at save.
MAX_PATTERN_MEMORY = 1 << 20


def _options(ignore_case: bool) -> re2.Options:
    options = re2.Options()
    options.log_errors = False
    options.max_mem = MAX_PATTERN_MEMORY
    options.case_sensitive = not ignore_case
    return options


@lru_cache(maxsize=2048)
def _compiled(pattern: str, ignore_case: bool):
    return re2.compile(pattern, _options(ignore_case))


def pattern_problem(pattern: str) -> str | None:
    """Why LeadFlow cannot run ``pattern`` (a message for the field), or None when it can."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        return f"A pattern is at most {MAX_PATTERN_LENGTH} characters."
    try:
        _compiled(pattern, False)
    except re2.error as error:
        reason = error.args[0].decode() if error.args and isinstance(error.args[0], bytes) else ""
        return (
            f"Not a regular expression LeadFlow can run ({reason or 'invalid'}); patterns "
            "may not use backreferences (\\1) or look-around ((?=…), (?<!…))."
        )
    except UnicodeEncodeError:
        return "Not a regular expression LeadFlow can run: it is not valid Unicode text."
    return None


def pattern_fullmatch(pattern: str, text: str, *, ignore_case: bool = False) -> bool | None:
    """Whether the whole of ``text`` matches ``pattern``, in time linear in ``len(text)``.

    None when RE2 cannot run the pattern (one saved before patterns were checked): it is
    logged and never run on a backtracking engine; a caller validating input lets the value
    through (a lead is never refused for the marketer's pattern), a rule does not match."""
    try:
        compiled = _compiled(pattern, ignore_case)
    except (re2.error, UnicodeEncodeError):
        logger.warning("pattern %r cannot run on RE2; it is not applied", pattern[:200])
        return None
    try:
        return compiled.fullmatch(text) is not None
    except UnicodeEncodeError:  # text that is not Unicode (a lone surrogate) matches nothing
        return False


def glob_match(pattern: str, text: str) -> bool:
    """Whether the whole of ``text`` matches ``pattern`` (``*``: any run), case ignored: the
    glob of pop-up and chat page rules (no regular expression, so nothing to backtrack).

    The classic two-pointer walk: on a mismatch it returns to the last ``*`` and lets it
    take one more character, so the work is at most len(pattern) * len(text)."""
    pattern, text = pattern.lower(), text.lower()
    p = t = 0
    star = -1
    mark = 0
    while t < len(text):
        if p < len(pattern) and pattern[p] != "*" and pattern[p] == text[t]:
            p += 1
            t += 1
        elif p < len(pattern) and pattern[p] == "*":
            star, mark = p, t
            p += 1
        elif star >= 0:
            p = star + 1
            mark += 1
            t = mark
        else:
            return False
    while p < len(pattern) and pattern[p] == "*":
        p += 1
    return p == len(pattern)
