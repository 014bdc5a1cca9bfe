"""Publish targets: what one event becomes on the wire, and how a refusal reads.

- ``events``: the tutorial's ``POST {events_path}`` with the event as the body and the
  idempotency key in ``Idempotency-Key``.
- ``dfo``: a Digital Experience (DFO 3.0) "bring your own channel" message,
  ``POST /dfo/3.0/channels/{channelId}/messages``; the key travels as
  ``idOnExternalPlatform``; the rest comes from a :class:`~evolvekit.cxone.templates.Template`.
- ``workitem``: ``POST /inContactAPI/services/v30.0/interactions/work-items`` with query
  parameters ``pointOfContact, workItemID, workItemPayload, workItemType, from``; the key
  travels as ``workItemID``.

So a retry or a restart re-sends the same key and is recognised, never duplicated (as far
as the platform deduplicates on it; the simulator does).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from evolvekit.cxone.config import ENV_VARS, CXoneConfig, TargetName
from evolvekit.cxone.templates import Template
from evolvekit.cxone.wire import encode_event, json_or_text, snippet
from evolvekit.errors import ConfigError

DFO_MESSAGES = "/dfo/3.0/channels/{channel}/messages"
WORK_ITEMS = "/inContactAPI/services/v30.0/interactions/work-items"


@dataclass(frozen=True)
class Outgoing:
    """One request to send: path (below the API base URL), body or query, headers."""

    path: str
    content: bytes | None = None
    params: dict[str, str] | None = None
    headers: dict[str, str] = field(default_factory=dict)


class Target:
    """The ``events`` target; subclasses override ``outgoing`` and ``error_reason``."""

    name: TargetName = "events"

    def __init__(self, config: CXoneConfig, template: Template | None = None) -> None:
        self.config = config
        self.template = template or Template.default()

    @property
    def path(self) -> str:
        return self.config.events_path

    def outgoing(self, event: Any, key: str) -> Outgoing:
        return Outgoing(
            self.path,
            content=encode_event(event),
            headers={"Content-Type": "application/json", "Idempotency-Key": key},
        )

    def error_reason(self, response: httpx.Response) -> str:
        body = json_or_text(response)
        if isinstance(body, dict) and isinstance(body.get("error"), str):
            extra = body.get("error_description")
            return str(body["error"]) + (f": {extra}" if isinstance(extra, str) else "")
        return snippet(response)


class DfoTarget(Target):
    name: TargetName = "dfo"

    def __init__(self, config: CXoneConfig, template: Template | None = None) -> None:
        super().__init__(config, template)
        channel = config.dfo_channel_id
        if not channel:
            raise ConfigError(
                f"target dfo needs a channel: set {ENV_VARS['dfo_channel_id']} "
                "(or dfo_channel_id in [cxone])"
            )
        self.channel = channel

    @property
    def path(self) -> str:
        return DFO_MESSAGES.format(channel=self.channel)

    def outgoing(self, event: Any, key: str) -> Outgoing:
        encode_event(event)  # the same NaN and type checks as every target
        message = self.template.render_dfo(event, key)
        return Outgoing(
            self.path,
            content=orjson.dumps(message),
            headers={"Content-Type": "application/json"},
        )

    def error_reason(self, response: httpx.Response) -> str:
        """DFO errors: ``{"errors": [{"field", "message", "errorCode"}]}`` as one line."""
        body = json_or_text(response)
        errors = body.get("errors") if isinstance(body, dict) else None
        if isinstance(errors, list) and errors:
            parts = []
            for error in errors[:5]:
                if isinstance(error, dict):
                    where = f"{error.get('field')}: " if error.get("field") else ""
                    code = f" ({error.get('errorCode')})" if error.get("errorCode") else ""
                    parts.append(f"{where}{error.get('message', 'error')}{code}")
            return "; ".join(parts) or snippet(response)
        return super().error_reason(response)


class WorkItemTarget(Target):
    name: TargetName = "workitem"

    def __init__(self, config: CXoneConfig, template: Template | None = None) -> None:
        super().__init__(config, template)
        point = config.workitem_point_of_contact
        if not point:
            raise ConfigError(
                "target workitem needs a point of contact: set "
                f"{ENV_VARS['workitem_point_of_contact']} (or workitem_point_of_contact in [cxone])"
            )
        self.point_of_contact = point

    @property
    def path(self) -> str:
        return WORK_ITEMS

    def outgoing(self, event: Any, key: str) -> Outgoing:
        encode_event(event)
        params = {"pointOfContact": self.point_of_contact}
        params.update(self.template.render_work_item(event, key))
        return Outgoing(self.path, params=params)

    def error_reason(self, response: httpx.Response) -> str:
        """inContact API errors: ``{"error", "error_description"}``, ``{"message"}``, or a
        list of such objects, as one line."""
        body = json_or_text(response)
        if isinstance(body, list) and body and isinstance(body[0], dict):
            body = body[0]
        if isinstance(body, dict):
            for name in ("error_description", "message", "Message", "error"):
                if isinstance(body.get(name), str) and body[name]:
                    return str(body[name])
        return snippet(response)


def target_for(config: CXoneConfig, template: Template | None = None) -> Target:
    """The configured target, with the configured (or given) template."""
    if template is None and config.template:
        template = Template.load(config.template)
    name = config.resolved_target
    if name == "dfo":
        return DfoTarget(config, template)
    if name == "workitem":
        return WorkItemTarget(config, template)
    return Target(config, template)
