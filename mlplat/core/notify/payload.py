"""The body each kind of target takes, and the Standard Webhooks signature: pure functions.

- webhook: `{"type", "timestamp", "data"}` (the Standard Webhooks payload shape), signed with
  HMAC-SHA256 over `id.timestamp.body` in the `webhook-signature: v1,<base64>` header.
- slack: an incoming webhook's `{"text", "blocks"}` (text is the fallback for notifications).
- teams: a Workflows "post to a channel when a webhook request is received" message: one
  Adaptive Card attachment.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from mlplat.core.notify.event import Event
from mlplat.core.vocabulary import NotifyKind

SIGNATURE_VERSION = "v1"
SLACK_HEADER_MAX = 150  # Slack's limit on a header block's text
SLACK_FIELDS_MAX = 10  # and on a section's fields


def webhook(event: Event) -> dict[str, Any]:
    return {"type": event.kind.value, "timestamp": event.at, "data": event.to_json()}


def slack(event: Event) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": event.title[:SLACK_HEADER_MAX]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": event.summary or event.title}},
    ]
    if event.facts:
        fields = [
            {"type": "mrkdwn", "text": f"*{name}*\n{value}"}
            for name, value in event.facts[:SLACK_FIELDS_MAX]
        ]
        blocks.append({"type": "section", "fields": fields})
    if event.link:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": event.link}]})
    return {"text": f"{event.title}: {event.summary}".strip(": "), "blocks": blocks}


def teams(event: Event) -> dict[str, Any]:
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": event.title, "weight": "Bolder", "wrap": True},
        {"type": "TextBlock", "text": event.summary, "wrap": True},
    ]
    if event.facts:
        facts = [{"title": name, "value": value} for name, value in event.facts]
        body.append({"type": "FactSet", "facts": facts})
    if event.link:
        body.append({"type": "TextBlock", "text": event.link, "isSubtle": True, "wrap": True})
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    }
    attachment = {
        "contentType": "application/vnd.microsoft.card.adaptive",
        "contentUrl": None,
        "content": card,
    }
    return {"type": "message", "attachments": [attachment]}


BUILDERS = {NotifyKind.WEBHOOK: webhook, NotifyKind.SLACK: slack, NotifyKind.TEAMS: teams}


def body(kind: NotifyKind, event: Event) -> bytes:
    return json.dumps(BUILDERS[kind](event), separators=(",", ":")).encode()


def key(secret: str) -> bytes:
    """A Standard Webhooks secret is `whsec_` + base64 of the key; any other string is the key.
    (MLflow signs with the secret's own bytes, whatever it looks like: `secret.encode()`.)"""
    if secret.startswith("whsec_"):
        return base64.b64decode(secret.removeprefix("whsec_"))
    return secret.encode()


def signature(signing_key: bytes, message_id: str, timestamp: str, content: bytes) -> str:
    """`v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, as Standard Webhooks and MLflow's
    registry webhooks sign."""
    signed = message_id.encode() + b"." + timestamp.encode() + b"." + content
    digest = hmac.new(signing_key, signed, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode()}"


def verify(
    signing_key: bytes, message_id: str, timestamp: str, content: bytes, header: str
) -> bool:
    """Whether any of the space-separated `v1,<sig>` in `header` signs this message."""
    expected = signature(signing_key, message_id, timestamp, content)
    return any(hmac.compare_digest(expected, given) for given in header.split())


def headers(event: Event, content: bytes, timestamp: str, secret: str | None) -> dict[str, str]:
    """The Standard Webhooks headers; unsigned (no `webhook-signature`) without a secret."""
    found = {
        "content-type": "application/json",
        "webhook-id": event.id,
        "webhook-timestamp": timestamp,
    }
    if secret:
        found["webhook-signature"] = signature(key(secret), event.id, timestamp, content)
    return found
