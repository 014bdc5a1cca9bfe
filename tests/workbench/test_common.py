"""Shared workbench helpers: event parsing, uploads, sync-over-async, debounce, HTML."""

from __future__ import annotations

import asyncio
import base64
import re
import threading
import time

import pytest

from evolvekit.errors import InputError
from evolvekit.workbench._common import (
    Debouncer,
    download_link,
    error_box,
    parse_events,
    run_coroutine,
    upload_contents,
)


def test_parse_events_reads_json_lines_and_arrays() -> None:
    assert parse_events(b'{"a": 1}\n\n{"a": 2}\n', source="x") == [{"a": 1}, {"a": 2}]
    assert parse_events('[{"a": 1}, {"b": 2}]', source="x") == [{"a": 1}, {"b": 2}]
    assert parse_events("  ", source="x") == []


def test_parse_events_names_the_bad_line() -> None:
    with pytest.raises(InputError) as info:
        parse_events(b'{"a": 1}\n{"a": \n', source="pasted")
    assert str(info.value).startswith("pasted:2: not valid JSON")
    with pytest.raises(InputError, match="pasted:1: not a JSON object"):
        parse_events(b"3\n", source="pasted")
    with pytest.raises(InputError, match="item 1 is not a JSON object"):
        parse_events(b'[{"a": 1}, 2]', source="pasted")


def test_upload_contents_accepts_both_ipywidgets_shapes() -> None:
    v8 = ({"name": "a.json", "content": memoryview(b"{}")},)
    v7 = {"b.json": {"content": b"[]"}}
    assert upload_contents(v8) == [("a.json", b"{}")]
    assert upload_contents(v7) == [("b.json", b"[]")]
    assert upload_contents(()) == []


def test_run_coroutine_works_with_and_without_a_running_loop() -> None:
    async def answer() -> int:
        await asyncio.sleep(0)
        return 42

    assert run_coroutine(answer) == 42

    async def inside_a_cell() -> int:  # a Jupyter cell's thread already runs a loop
        return run_coroutine(answer)

    assert asyncio.run(inside_a_cell()) == 42


def test_run_coroutine_hands_errors_back() -> None:
    async def fail() -> None:
        raise InputError("bad input")

    async def inside_a_cell() -> None:
        run_coroutine(fail)

    with pytest.raises(InputError, match="bad input"):
        asyncio.run(inside_a_cell())


def test_debouncer_coalesces_triggers() -> None:
    calls: list[float] = []
    done = threading.Event()

    def action() -> None:
        calls.append(time.monotonic())
        done.set()

    debouncer = Debouncer(action, 0.05)
    for _ in range(5):
        debouncer.trigger()
    assert debouncer.pending and not calls
    assert done.wait(2)
    time.sleep(0.1)
    assert len(calls) == 1


def test_debouncer_flush_and_zero_delay() -> None:
    calls: list[int] = []
    debouncer = Debouncer(lambda: calls.append(1), 30)
    debouncer.trigger()
    debouncer.flush()
    assert calls == [1] and not debouncer.pending
    Debouncer(lambda: calls.append(2), 0).trigger()
    assert calls == [1, 2]


def test_download_link_carries_the_content() -> None:
    html = download_link("Get", "r.md", "# héllo <b>", "text/markdown")
    data = re.search(r"base64,([A-Za-z0-9+/=]+)", html)
    assert data is not None
    assert base64.b64decode(data.group(1)).decode() == "# héllo <b>"
    assert 'download="r.md"' in html


def test_error_box_escapes() -> None:
    box = error_box("<script>alert(1)</script>")
    assert "<script>alert" not in box and "&lt;script&gt;" in box and "ek-error" in box
