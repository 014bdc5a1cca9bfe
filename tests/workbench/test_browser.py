"""The widgets render in the real front end: JupyterLab + Chromium driven by Playwright.

Starts JupyterLab headless on a free port with a token, opens
``notebooks/01_explore_schema_changes.ipynb``, runs every cell from the Run menu, waits for the
kernel to go idle, then checks that the diff panel rendered as widgets (change rows and
verdict badges in the page, no "Error displaying widget", no error output) and saves a
screenshot in a temporary folder (its path is printed; CI keeps it as an artifact).

Skips where ``/usr/bin/chromium`` (or Playwright) is missing, except under ``CI=true``,
where a missing browser is a failure. The notebook file is never written: autosave is off,
checkpoints go to the temporary folder, and the test checks the file is unchanged.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = "notebooks/01_explore_schema_changes.ipynb"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERVER_START_TIMEOUT = 90.0
RUN_TIMEOUT_MS = 120_000
PROMPTS_JS = (
    "[...document.querySelectorAll("
    "'.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputArea-prompt')]"
)
# Some code cell is queued or has run ("[*]:" / "[3]:").
STARTED_JS = f"() => {PROMPTS_JS}.some(p => /\\[(\\*|\\d+)\\]/.test(p.textContent))"
# Every code cell has run.
FINISHED_JS = (
    f"() => {{ const prompts = {PROMPTS_JS}; "
    "return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent)); }"
)


def _skip_or_fail(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: the browser test must run in CI)")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _write_settings(folder: Path) -> None:
    """JupyterLab user settings: no autosave (the notebook must stay output-free) and no
    windowing (every cell stays in the DOM, so the checks see all of them)."""
    settings = {
        "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    }
    for name, value in settings.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value), encoding="utf-8")


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Path]]:
    """A running JupyterLab on the repository: ``(base URL, token, its log file)``."""
    if not CHROMIUM.exists():
        _skip_or_fail(f"{CHROMIUM} is missing (install it: apt-get install -y chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _skip_or_fail("Playwright for Python is not installed (pip install -e '.[dev]')")
    jupyter = Path(sys.executable).with_name("jupyter")
    if not jupyter.exists():
        _skip_or_fail(f"{jupyter} is missing (pip install -e '.[notebook]')")
    home = tmp_path_factory.mktemp("jupyterlab")
    settings, runtime, checkpoints = home / "settings", home / "runtime", home / "checkpoints"
    for folder in (settings, runtime, checkpoints):
        folder.mkdir()
    _write_settings(settings)
    port, token = _free_port(), secrets.token_hex(16)
    env = {
        **os.environ,
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
        "JUPYTER_RUNTIME_DIR": str(runtime),
    }
    log_path = home / "jupyterlab.log"
    log = log_path.open("wb")
    server = subprocess.Popen(
        [
            str(jupyter), "lab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
            f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={REPO}",
            "--allow-root", f"--FileCheckpoints.root_dir={checkpoints}",
        ],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            if server.poll() is not None:
                pytest.fail(f"JupyterLab exited early; see {home / 'jupyterlab.log'}")
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2):
                    break
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not answer within {SERVER_START_TIMEOUT} s")
                time.sleep(0.25)
        yield base, token, log_path
    finally:
        server.terminate()  # the server shuts its kernels down on SIGTERM
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(10)
        log.close()


def test_diff_panel_renders_as_widgets_in_jupyterlab(
    jupyterlab: tuple[str, str, Path], tmp_path_factory: pytest.TempPathFactory
) -> None:
    from playwright.sync_api import sync_playwright

    base, token, log_path = jupyterlab
    notebook_file = REPO / NOTEBOOK
    before = notebook_file.read_bytes()
    cells = json.loads(before)["cells"]
    expected_cells = sum(cell["cell_type"] == "code" for cell in cells)
    shots = tmp_path_factory.mktemp("browser-screenshots")
    started = time.monotonic()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            try:
                _run_and_check(page, base, token, expected_cells, shots, started)
            except Exception:
                failure = shots / "failure.png"
                page.screenshot(path=str(failure))
                print(f"\nscreenshot of the failure: {failure}; JupyterLab's log: {log_path}")
                raise
        finally:
            browser.close()
    assert notebook_file.read_bytes() == before, "the browser run must not save the notebook"


def _run_and_check(
    page: Any, base: str, token: str, expected_cells: int, shots: Path, started: float
) -> None:
    """Open the notebook, run all cells from the menu, check the widgets, take a screenshot."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect

    page.set_default_timeout(60_000)
    page.goto(f"{base}/lab/tree/{NOTEBOOK}?reset&token={token}")
    notebook = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    expect(notebook.locator(".jp-Cell").first).to_be_visible(timeout=90_000)
    indicator = page.locator(".jp-Notebook-ExecutionIndicator")
    expect(indicator).to_have_attribute("data-status", "idle", timeout=90_000)

    # JupyterLab renders cells in batches: wait until every code cell is in the page.
    code_cells = notebook.locator(".jp-CodeCell")
    expect(code_cells).to_have_count(expected_cells, timeout=60_000)

    # Clicking a cell makes the notebook JupyterLab's current widget, which the Run menu acts
    # on. A click that lands before the kernel connection is ready can be lost, so the test
    # checks that execution started and asks again if it did not.
    notebook.locator(".jp-Cell .jp-InputPrompt").first.click()
    for attempt in range(1, 4):
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        try:
            page.wait_for_function(STARTED_JS, timeout=20_000)
            print(f"\nRun All Cells took effect on click {attempt}")
            break
        except PlaywrightTimeout:
            if attempt == 3:
                raise

    # Every code cell gets an execution count ("[12]:"), then the kernel idles.
    page.wait_for_function(FINISHED_JS, timeout=RUN_TIMEOUT_MS)
    expect(indicator).to_have_attribute("data-status", "idle", timeout=RUN_TIMEOUT_MS)
    elapsed = time.monotonic() - started

    errors = notebook.locator('[data-mime-type="application/vnd.jupyter.error"]')
    assert errors.count() == 0, errors.first.inner_text()
    assert page.get_by_text("Error displaying widget").count() == 0
    widgets = notebook.locator(".jupyter-widgets")
    assert widgets.count() > 0, "no widget was rendered"
    rows = notebook.locator(".ek-panel tr.ek-change")
    badges = notebook.locator(".ek-panel .ek-badge")
    expect(rows.first).to_be_visible()
    assert rows.count() >= 5  # 1.0.0 -> 2.0.0 has seven changes
    assert badges.count() >= 3  # backward / forward / full
    breaking = notebook.locator(".ek-panel tr.ek-change.ek-breaking", has_text="agentId")
    assert breaking.count() >= 1
    assert "backward" in badges.first.inner_text()

    # Cosmetic: dismiss JupyterLab's "Jupyter news?" toast so it does not cover the shot.
    news = page.locator(".Toastify__toast", has_text="Jupyter news")
    try:
        if news.count():
            news.get_by_role("button", name="No", exact=True).click(timeout=5_000)
            expect(news).to_have_count(0, timeout=5_000)
    except PlaywrightTimeout:
        pass
    badges.first.scroll_into_view_if_needed()
    shot = shots / "01_explore_schema_changes.png"
    page.screenshot(path=str(shot))
    print(f"\nscreenshot: {shot} (notebook ran in {elapsed:.1f} s)")
    assert shot.stat().st_size > 10_000
