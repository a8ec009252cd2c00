"""Builders for tracker batches as lf.js sends them."""

import json
import time
import uuid

from django.test import Client

CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
SITE = "https://www.acme-widgets.com"


def event(kind="pageview", *, url=f"{SITE}/", ts=None, session=None, **extra):
    body = {"id": str(uuid.uuid4()), "type": kind, "url": url, "ts": ts or int(time.time() * 1000)}
    if session is not None:
        body["session"] = session
    body.update(extra)
    return body


def batch(workspace, events, *, visitor="visitor-0001", session="session-0001"):
    return {
        "key": workspace.public_key,
        "visitor_id": visitor,
        "session_id": session,
        "events": events,
    }


def send(payload, *, origin=SITE, user_agent=CHROME, **headers):
    client = Client(REMOTE_ADDR="198.51.100.9")
    extra = {"User-Agent": user_agent, **headers}
    if origin:
        extra["Origin"] = origin
    return client.post("/e", json.dumps(payload), content_type="text/plain", headers=extra)
