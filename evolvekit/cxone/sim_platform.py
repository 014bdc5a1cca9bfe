"""The simulator's imitation of CXone's documented data APIs (see docs/cxone.md for which
behaviour is documented by NICE and which is assumed):

- Digital Experience (DFO 3.0) "bring your own channel" messages:
  ``POST /dfo/3.0/channels/{channelId}/messages``; errors ``{"errors": [{field, message,
  errorCode}]}``; ``GET /dfo/3.0/channels/{channelId}/messages?scrollToken=&limit=`` pages
  with ``scrollToken``. Repeating an ``idOnExternalPlatform`` answers the original message
  and stores nothing: a simulator choice (the platform does not promise it).
- Work items: ``POST /inContactAPI/services/v30.0/interactions/work-items`` with query
  parameters ``pointOfContact, workItemID, workItemPayload, workItemType, from`` ->
  ``{"contactId"}``; a repeated ``workItemID`` answers the same contact (simulator choice).
- Data Extraction: ``POST /data-extraction/v1/jobs`` and ``GET .../jobs/{id}``: one active
  job per tenant, ``extraction_spacing`` seconds between calls (429 otherwise), a download
  URL valid ``extraction_url_ttl`` seconds holding the stored DFO messages as JSON lines.

Every endpoint passes the app's gate (bearer token, faults, rate limit, Accept quirk) and
honours the ``Dry-Run: true`` header (checked, not stored).
"""

from __future__ import annotations

import itertools
import secrets
from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from evolvekit.cxone.config import SIMULATOR_DFO_CHANNEL, SIMULATOR_POINT_OF_CONTACT

if TYPE_CHECKING:
    from evolvekit.cxone.simulator import SimulatorApp

SIM_DFO_CHANNEL = SIMULATOR_DFO_CHANNEL
SIM_POINT_OF_CONTACT = SIMULATOR_POINT_OF_CONTACT
DFO_PREFIX = "/dfo/3.0/channels/"
WORKITEM_PATH = "/inContactAPI/services/v30.0/interactions/work-items"
_DIRECTIONS = ("inbound", "outbound")


def dfo_error(status: int, *problems: tuple[str, str, str]) -> JSONResponse:
    """A DFO-style error: ``{"errors": [{"field", "message", "errorCode"}]}``."""
    errors = [{"field": f, "message": m, "errorCode": c} for f, m, c in problems]
    return JSONResponse({"errors": errors}, status_code=status)


def dfo_problems(message: Any) -> list[tuple[str, str, str]]:
    """What is wrong with a DFO message body, as (field, message, errorCode)."""
    if not isinstance(message, dict):
        return [("", "the body must be a JSON object", "InvalidBody")]
    problems: list[tuple[str, str, str]] = []

    def need_text(value: Any, field: str) -> None:
        if not isinstance(value, str) or not value:
            problems.append((field, f"{field} is required (a non-empty string)", "FieldRequired"))

    need_text(message.get("idOnExternalPlatform"), "idOnExternalPlatform")
    thread = message.get("thread")
    need_text(
        thread.get("idOnExternalPlatform") if isinstance(thread, dict) else None,
        "thread.idOnExternalPlatform",
    )
    content = message.get("messageContent")
    if not isinstance(content, dict) or content.get("type") != "TEXT":
        problems.append(("messageContent.type", "only TEXT is supported", "InvalidValue"))
    else:
        payload = content.get("payload")
        need_text(
            payload.get("text") if isinstance(payload, dict) else None,
            "messageContent.payload.text",
        )
    if message.get("direction") not in _DIRECTIONS:
        problems.append(("direction", "direction must be inbound or outbound", "InvalidValue"))
    author = message.get("authorEndUserIdentity")
    need_text(
        author.get("idOnExternalPlatform") if isinstance(author, dict) else None,
        "authorEndUserIdentity.idOnExternalPlatform",
    )
    fields = (message.get("contact") or {}).get("customFields", [])
    if not isinstance(fields, list) or not all(
        isinstance(f, dict) and isinstance(f.get("ident"), str) and "value" in f for f in fields
    ):
        problems.append(("contact.customFields", "a list of {ident, value}", "InvalidValue"))
    return problems


class PlatformAPI:
    """DFO messages, work items and Data Extraction on a :class:`SimulatorApp`."""

    def __init__(self, app: SimulatorApp) -> None:
        self.app = app
        self.state = app.state
        self._message_ids = itertools.count(1)
        self._contact_ids = itertools.count(700001)
        self._job_ids = itertools.count(1)
        self.channels = {SIM_DFO_CHANNEL}

    def routes(self) -> list[Route]:
        return [
            Route(DFO_PREFIX + "{channel}/messages", self.post_message, methods=["POST"]),
            Route(DFO_PREFIX + "{channel}/messages", self.list_messages, methods=["GET"]),
            Route(WORKITEM_PATH, self.post_work_item, methods=["POST"]),
            Route("/data-extraction/v1/jobs", self.start_job, methods=["POST"]),
            Route("/data-extraction/v1/jobs/{job}", self.job_status, methods=["GET"]),
            Route("/_data-extraction/files/{token}", self.download, methods=["GET"]),
        ]

    async def _pass_gate(self, request: Request) -> Response | None:
        gate = await self.app.gate(request, None)
        if isinstance(gate, Response):
            return gate
        fault, _info = gate
        if fault is not None and request.method == "GET":
            return self.app.drop_connection()  # drops (and lost writes) apply to reads too
        request.state.fault = fault
        return None

    @staticmethod
    def _lost(request: Request) -> bool:
        fault = getattr(request.state, "fault", None)
        return fault is not None and fault.kind == "lose"

    # --- DFO --------------------------------------------------------------------------
    async def post_message(self, request: Request) -> Response:
        refused = await self._pass_gate(request)
        if refused is not None:
            return refused
        channel = request.path_params["channel"]
        if channel not in self.channels:
            return dfo_error(404, ("channelId", f"channel {channel} not found", "NotFound"))
        try:
            message = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return dfo_error(400, ("", "the body is not JSON", "InvalidBody"))
        problems = dfo_problems(message)
        if problems:
            return dfo_error(400, *problems)
        if self.app.is_dry_run(request):
            return JSONResponse({"dryRun": True, "status": "valid"}, status_code=200)
        key = message["idOnExternalPlatform"]
        if self._lost(request):
            return JSONResponse({"id": f"msg-{next(self._message_ids)}"}, status_code=201)

        def receipt() -> dict[str, Any]:
            return {
                "id": f"msg-{next(self._message_ids)}",
                "idOnExternalPlatform": key,
                "thread": {"idOnExternalPlatform": message["thread"]["idOnExternalPlatform"]},
                "channelId": channel,
            }

        body = orjson.dumps(message)
        answer, stored = self.state.store_once("dfo", request.url.path, key, body, receipt)
        if getattr(request.state, "fault", None) is not None:
            return self.app.drop_connection()  # drop-after: stored, never answered
        return JSONResponse(answer, status_code=201 if stored else 200)

    async def list_messages(self, request: Request) -> Response:
        """Stored messages of the channel, ``limit`` a page, ``scrollToken`` to go on."""
        refused = await self._pass_gate(request)
        if refused is not None:
            return refused
        try:
            start = int(request.query_params.get("scrollToken") or 0)
            limit = int(request.query_params.get("limit") or 50)
        except ValueError:
            return dfo_error(400, ("scrollToken", "not a scroll token", "InvalidValue"))
        if start < 0 or not 1 <= limit <= 1000:
            return dfo_error(400, ("limit", "1 <= limit <= 1000", "InvalidValue"))
        prefix = DFO_PREFIX + request.path_params["channel"] + "/"
        with self.state.lock:
            mine = [
                e.body for e in self.state.entries if e.kind == "dfo" and e.path.startswith(prefix)
            ]
        page = mine[start : start + limit]
        more = start + len(page) < len(mine)
        token = orjson.dumps(str(start + len(page))) if more else b"null"
        payload = b'{"messages":[%s],"hits":%d,"scrollToken":%s}' % (
            b",".join(page),
            len(mine),
            token,
        )
        return Response(payload, media_type="application/json")

    # --- work items -------------------------------------------------------------------
    async def post_work_item(self, request: Request) -> Response:
        refused = await self._pass_gate(request)
        if refused is not None:
            return refused
        query = request.query_params
        missing = [n for n in ("pointOfContact", "workItemID") if not query.get(n)]
        if missing:
            return JSONResponse(
                {
                    "error": "invalid_request",
                    "error_description": f"missing query parameter(s): {', '.join(missing)}",
                },
                status_code=400,
            )
        if self.app.is_dry_run(request):
            return JSONResponse({"dryRun": True, "status": "valid"}, status_code=200)
        if self._lost(request):
            return JSONResponse({"contactId": next(self._contact_ids)}, status_code=202)
        fields = ("pointOfContact", "workItemID", "workItemPayload", "workItemType", "from")
        item = {name: query[name] for name in fields if name in query}
        answer, stored = self.state.store_once(
            "workitem",
            request.url.path,
            query["workItemID"],
            orjson.dumps(item),
            lambda: {"contactId": next(self._contact_ids)},
        )
        if getattr(request.state, "fault", None) is not None:
            return self.app.drop_connection()
        return JSONResponse(answer, status_code=202 if stored else 200)

    # --- Data Extraction --------------------------------------------------------------
    def _too_soon(self) -> Response | None:
        state = self.state
        now = state.clock()
        with state.lock:
            last = state.last_extraction_call
            if last is not None and now - last < state.extraction_spacing:
                wait = state.extraction_spacing - (now - last)
                return JSONResponse(
                    {
                        "error": "too many requests",
                        "error_description": f"wait {wait:.1f} s between Data Extraction calls",
                    },
                    status_code=429,
                )
            state.last_extraction_call = now
        return None

    async def start_job(self, request: Request) -> Response:
        """``{"entityName": "dfo-messages" | "work-items"}`` (default dfo-messages)."""
        refused = await self._pass_gate(request) or self._too_soon()
        if refused is not None:
            return refused
        try:
            entity = (orjson.loads(await request.body() or b"{}") or {}).get("entityName")
        except (orjson.JSONDecodeError, AttributeError):
            return JSONResponse({"error": "the body must be a JSON object"}, status_code=400)
        with self.state.lock:
            if any(job["status"] == "RUNNING" for job in self.state.jobs.values()):
                return JSONResponse(
                    {"error": "conflict", "error_description": "a job is already active"},
                    status_code=409,
                )
            job_id = f"job-{next(self._job_ids)}"
            kind = "workitem" if entity == "work-items" else "dfo"
            self.state.jobs[job_id] = {"status": "RUNNING", "kind": kind}
        return JSONResponse({"jobId": job_id}, status_code=202)

    async def job_status(self, request: Request) -> Response:
        refused = await self._pass_gate(request) or self._too_soon()
        if refused is not None:
            return refused
        state = self.state
        job_id = request.path_params["job"]
        with state.lock:
            job = state.jobs.get(job_id)
            if job is None:
                return JSONResponse({"error": f"unknown job {job_id}"}, status_code=404)
            # A job finishes by its first poll; each poll hands out a fresh URL.
            lines = [e.body for e in state.entries if e.kind == job["kind"]]
            token = secrets.token_urlsafe(16)
            expires = state.clock() + state.extraction_url_ttl
            state.downloads[token] = (expires, b"\n".join(lines) + (b"\n" if lines else b""))
            job["status"] = "SUCCEEDED"
        base = str(request.base_url).rstrip("/")
        return JSONResponse(
            {
                "jobId": job_id,
                "jobStatus": {
                    "status": "SUCCEEDED",
                    "result": {
                        "url": f"{base}/_data-extraction/files/{token}",
                        "expiresInSeconds": state.extraction_url_ttl,
                    },
                },
            }
        )

    async def download(self, request: Request) -> Response:
        with self.state.lock:
            entry = self.state.downloads.get(request.path_params["token"])
        if entry is None or self.state.clock() >= entry[0]:
            return JSONResponse({"error": "the download URL has expired"}, status_code=403)
        return Response(entry[1], media_type="application/x-ndjson")
