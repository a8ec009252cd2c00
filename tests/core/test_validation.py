"""The email fast path answers what email-validator answers, for any input."""

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import example, given, settings
from hypothesis import strategies as st

from leadflow.core.errors import ValidationFailed
from leadflow.core.validation import email_normalise


def library(raw: str) -> str | None:
    """What email_normalise answered before the fast path: the library's normalised form,
    lower-cased, or None when refused."""
    raw = raw.strip()
    if len(raw) > 254:
        return None
    try:
        return validate_email(raw, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None


def ours(raw: str) -> str | None:
    try:
        return email_normalise(raw)
    except ValidationFailed:
        return None


LOCAL = st.text(
    alphabet=st.sampled_from("aZ09.!#$%&'*+/=?^_`{|}~-\"(),:;<>@[\\] é"), min_size=0, max_size=70
)
LABEL = st.text(alphabet=st.sampled_from("abcXYZ019-_.é"), min_size=0, max_size=70)
DOMAIN = st.one_of(
    st.lists(LABEL, min_size=1, max_size=4).map(".".join),
    st.sampled_from(
        [
            "example.com", "gmail.com", "localhost", "local", "test", "invalid", "onion",
            "xn--mnchen-3ya.de", "münchen.de", "EXAMPLE.COM", "[127.0.0.1]", "a..com",
            "-a.com", "a-.com", "com", "1.2.3.4", "a.123", "x" * 63 + ".com",
            "x" * 64 + ".com", ("a" * 60 + ".") * 4 + "com",
        ]
    ),
)  # fmt: skip


@settings(max_examples=3000, deadline=None)
@given(local=LOCAL, domain=DOMAIN, spaces=st.sampled_from(["", " ", "\t"]))
@example(local="a" * 64, domain="example.com", spaces="")
@example(local="a" * 65, domain="example.com", spaces="")
@example(local="a.b", domain="Example.COM", spaces=" ")
@example(local=".a", domain="example.com", spaces="")
@example(local="a..b", domain="example.com", spaces="")
@example(local="a", domain="a" * 250 + ".com", spaces="")
def test_fast_path_agrees_with_the_library(local, domain, spaces):
    raw = f"{spaces}{local}@{domain}{spaces}"
    assert ours(raw) == library(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Ann.Lee@Initech.COM", "ann.lee@initech.com"),
        ("a+tag@gmail.com", "a+tag@gmail.com"),
        ("ann@localhost", None),
        ("ann@@initech.com", None),
        ("jörg@münchen.de", "jörg@münchen.de"),
    ],
)
def test_known_answers(raw, expected):
    assert ours(raw) == expected
