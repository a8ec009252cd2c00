"""Bad input on the duplicates API answers 4xx, never a 500 and never a write: huge
numbers, NUL bytes, lone surrogates, deep nesting, broken cursors, on both databases."""

import pytest

from tests.duplicates.test_finder import deliver, jon_and_john, pair_of


@pytest.mark.parametrize(
    "query",
    [
        "/duplicates?contact_id=99999999999999999999",
        "/duplicates?source=a%00b",
        "/duplicates?source=%ED%A0%80",
        "/duplicates?reason=%00",
        "/duplicates?min_probability=1e400",
        "/duplicates?cursor=%00",
        "/duplicates/99999999999999999999",
    ],
)
def test_bad_queries_answer_4xx(api, query):
    r = api.get(query)
    assert r.status_code < 500, (query, r.status_code, r.content[:200])


def test_bad_bodies_answer_4xx_and_merge_nothing(api, workspace):
    jon, john = jon_and_john(workspace)
    deliver(workspace)
    pair = pair_of(jon, john)
    for body in [
        '{"primary_id": 99999999999999999999}',
        '{"choices": {"a\\u0000": "primary"}}',
        '{"choices": {"email": "x\\ud800"}}',
        "[" * 5000 + "]" * 5000,
    ]:
        r = api.post(f"/duplicates/{pair.pk}/merge", body)
        assert r.status_code < 500 and r.status_code != 200, (
            body[:40],
            r.status_code,
            r.content[:200],
        )
    assert pair_of(jon, john) is not None  # nothing merged
    r = api.post("/duplicates/99999999999999999999/dismiss")
    assert r.status_code == 404, r.content[:200]
    r = api.put("/duplicates/settings", '{"auto_merge": true, "auto_merge_threshold": 1e400}')
    assert r.status_code == 422, r.content[:200]
