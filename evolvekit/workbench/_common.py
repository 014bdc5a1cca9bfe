"""Helpers shared by the workbench panels: HTML snippets, uploads, sync-over-async, debounce.

Nothing here holds panel state. The panels run coroutines through ``run_coroutine`` because a
Jupyter kernel already runs an event loop on its main thread (``asyncio.run`` would refuse),
and they show every user-caused failure with ``error_box`` instead of a traceback.
"""

from __future__ import annotations

import asyncio
import base64
import html
import threading
from collections.abc import Callable, Coroutine, Iterable, Mapping
from io import BytesIO
from typing import Any, Final, TypeVar

from evolvekit import jsonio
from evolvekit.errors import EvolveKitError, InputError

T = TypeVar("T")

# One scoped stylesheet for every panel; the class prefix keeps it off the rest of the page.
PANEL_CLASS: Final = "ek-panel"
STYLE: Final = f"""<style>
.{PANEL_CLASS} {{font-family: system-ui, sans-serif; font-size: 13px; line-height: 1.4}}
.{PANEL_CLASS} table {{border-collapse: collapse; margin: 4px 0}}
.{PANEL_CLASS} th, .{PANEL_CLASS} td {{border: 1px solid #ccc; padding: 2px 8px;
  text-align: left; vertical-align: top}}
.{PANEL_CLASS} code, .{PANEL_CLASS} pre {{font-family: ui-monospace, monospace;
  white-space: pre-wrap; word-break: normal; overflow-wrap: normal; margin: 0}}
.{PANEL_CLASS} th.ek-sortable {{cursor: pointer; user-select: none; white-space: nowrap}}
.{PANEL_CLASS} th.ek-sortable::after {{content: " \\2195"; color: #999}}
.{PANEL_CLASS} th[data-dir="asc"]::after {{content: " \\25B2"; color: #333}}
.{PANEL_CLASS} th[data-dir="desc"]::after {{content: " \\25BC"; color: #333}}
.{PANEL_CLASS} details > summary {{cursor: pointer}}
.{PANEL_CLASS} .ek-key {{font-weight: 600; white-space: nowrap}}
.{PANEL_CLASS} .ek-badge {{display: inline-block; padding: 1px 8px; margin-right: 6px;
  border-radius: 10px; font-weight: 600; color: #fff}}
.{PANEL_CLASS} .ek-ok {{background: #2e7d32}}
.{PANEL_CLASS} .ek-bad {{background: #c62828}}
.{PANEL_CLASS} .ek-current {{outline: 2px solid #333}}
.{PANEL_CLASS} tr.ek-breaking td.ek-sev {{background: #ffcdd2; color: #b71c1c}}
.{PANEL_CLASS} tr.ek-caution td.ek-sev {{background: #fff3c4; color: #8a6d00}}
.{PANEL_CLASS} tr.ek-info td.ek-sev {{background: #e3f2fd; color: #0d47a1}}
.{PANEL_CLASS} .ek-error {{border: 1px solid #c62828; background: #ffebee; color: #b71c1c;
  padding: 4px 8px; border-radius: 4px}}
.{PANEL_CLASS} .ek-note {{color: #555}}
.{PANEL_CLASS} a.ek-download {{display: inline-block; padding: 2px 10px; margin-right: 6px;
  border: 1px solid #888; border-radius: 4px; text-decoration: none; color: #222;
  background: #f5f5f5}}
</style>"""


def show(widget: Any) -> None:
    """Display ``widget`` in the notebook (IPython is only there when a kernel runs)."""
    from IPython.display import display

    display(widget)  # type: ignore[no-untyped-call]


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def wrap(body: str) -> str:
    """``body`` inside the scoped panel ``<div>`` with the shared stylesheet."""
    return f'{STYLE}<div class="{PANEL_CLASS}">{body}</div>'


def error_box(message: str) -> str:
    """One error, shown inside a panel (never a traceback)."""
    return wrap(f'<div class="ek-error"><b>Error:</b> {esc(message)}</div>')


def describe(exc: BaseException) -> str:
    """The one-line message for an error a user caused (EvolveKitError renders located)."""
    if isinstance(exc, EvolveKitError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def guarded(
    action: Callable[[], object], on_error: Callable[[BaseException], None]
) -> Callable[..., None]:
    """A widget callback that runs ``action`` and hands ANY failure to ``on_error``.

    ipywidgets would print the traceback of a failing click or observer into the notebook;
    a panel shows the error in its own error box instead (expected errors are handled inside
    the actions; this catches the unexpected rest, e.g. a bug, and still says what it was).
    """

    def handler(*_: Any) -> None:
        try:
            action()
        except Exception as exc:  # a UI boundary: nothing may escape as a traceback
            on_error(exc)

    return handler


def download_link(label: str, filename: str, content: str, mime: str) -> str:
    """An ``<a download>`` styled as a button; the content travels as a data: URI."""
    data = base64.b64encode(content.encode("utf-8")).decode("ascii")
    return (
        f'<a class="ek-download" download="{esc(filename)}" '
        f'href="data:{esc(mime)};charset=utf-8;base64,{data}">{esc(label)}</a>'
    )


def json_block(value: Any) -> str:
    return f"<pre>{esc(jsonio.dumps_str(value, indent=True))}</pre>"


def table(headers: Iterable[str], rows: Iterable[Iterable[str]], row_class: str = "") -> str:
    """A sortable table whose cells are already HTML (callers escape their values).

    A click on a header sorts by that column (again: the other way); a cell's
    ``data-sort`` attribute, when present, is what it sorts by.
    """
    head = "".join(sortable_header(h) for h in headers)
    cls = f' class="{row_class}"' if row_class else ""
    body = "".join(f"<tr{cls}>" + "".join(_cell(c) for c in r) + "</tr>" for r in rows)
    return f'<table class="ek-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _cell(content: str) -> str:
    return content if content.startswith("<td") else f"<td>{content}</td>"


# Inline (no <script>: widget HTML does not run scripts; attributes work in JupyterLab and in
# a static HTML export). Numbers sort as numbers, the rest as text.
SORT_JS: Final = (
    "(function(th){const t=th.closest('table'),b=t.tBodies[0];"
    "const i=[...th.parentNode.children].indexOf(th);"
    "const d=th.dataset.dir==='asc'?'desc':'asc';"
    "[...th.parentNode.children].forEach(h=>delete h.dataset.dir);th.dataset.dir=d;"
    "const k=r=>{const c=r.cells[i];return c?(c.dataset.sort??c.innerText.trim()):''};"
    "const rows=[...b.rows];rows.sort((x,y)=>{const p=k(x),q=k(y);"
    "const n=(p!==''&&q!==''&&!isNaN(p)&&!isNaN(q))?p-q:p.localeCompare(q);"
    "return d==='asc'?n:-n});rows.forEach(r=>b.appendChild(r))})(this)"
)


def sortable_header(label: str) -> str:
    return f'<th class="ek-sortable" title="sort" onclick="{esc(SORT_JS)}">{esc(label)}</th>'


def breakable(text: str) -> str:
    """``text`` escaped, with line-break opportunities after ``/`` and ``_`` only.

    Paths and kind names then wrap between their parts, never inside a word.
    """
    return esc(text).replace("/", "/<wbr>").replace("_", "_<wbr>")


def key_cell(event: Any, key_field: str) -> str:
    """The business-key cell of an event row (``(none)`` when the event has no such field)."""
    from evolvekit.frames import business_key

    key = business_key(event, key_field)
    if key is None:
        return '<span class="ek-note">(none)</span>'
    return f'<span class="ek-key">{esc(key)}</span>'


# --- uploads and pasted events ------------------------------------------------------------


def upload_contents(value: Any) -> list[tuple[str, bytes]]:
    """``(name, bytes)`` for each file of an ipywidgets 8 ``FileUpload.value``."""
    items: Iterable[Any]
    if isinstance(value, Mapping):  # ipywidgets 7 shape {name: {"content": ...}}
        items = [{"name": name, **dict(meta)} for name, meta in value.items()]
    else:
        items = value or ()
    out = []
    for item in items:
        content = item["content"]
        out.append((str(item.get("name", "upload")), bytes(content)))
    return out


def parse_events(data: bytes | str, *, source: str) -> list[dict[str, Any]]:
    """Events from JSON lines, one JSON array, or one JSON object; errors name the line."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    stripped = raw.strip()
    if not stripped:
        return []
    if stripped.startswith(b"["):
        value = jsonio.loads(stripped, source=source)
        events = list(value)
        for index, event in enumerate(events):
            if not isinstance(event, dict):
                raise InputError(f"item {index} is not a JSON object", file=source)
        return events
    out: list[dict[str, Any]] = []
    for line, text in jsonio.iter_jsonl(BytesIO(raw)):
        event = jsonio.loads(text, source=source, line=line)
        if not isinstance(event, dict):
            raise InputError("not a JSON object", file=source, line=line)
        out.append(event)
    return out


# --- running coroutines from notebook cells -------------------------------------------------


def run_coroutine(factory: Callable[[], Coroutine[Any, Any, T]], timeout: float = 300.0) -> T:
    """Run the coroutine ``factory()`` makes to completion and return its result.

    Without a running loop in this thread it is simply ``asyncio.run``; inside a Jupyter
    cell (whose thread already runs a loop) it runs on a short-lived helper thread.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(factory())
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(factory())
        except BaseException as exc:  # handed back to the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target, name="evolvekit-workbench", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise TimeoutError(f"operation did not finish within {timeout} s")
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]


class Debouncer:
    """Calls ``action`` once, ``delay`` seconds after the last ``trigger()``.

    ``delay == 0`` calls it synchronously (tests and notebooks use that, or ``flush()``).
    """

    def __init__(self, action: Callable[[], object], delay: float) -> None:
        self.action = action
        self.delay = delay
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()

    def trigger(self) -> None:
        if self.delay <= 0:
            self.action()
            return
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(self.delay, self.action)
            self._timer.daemon = True
            self._timer.start()

    @property
    def pending(self) -> bool:
        timer = self._timer
        return timer is not None and timer.is_alive()

    def cancel(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

    def flush(self) -> None:
        """Cancel a pending call and run the action now."""
        self.cancel()
        self.action()
