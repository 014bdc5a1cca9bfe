"""The widgets render in the real front end: JupyterLab + Chromium driven by Playwright.

Starts JupyterLab headless on a free port with a token, opens
``notebooks/01_explore_schema_changes.ipynb``, runs every cell from the Run menu, waits for
every cell to finish, then checks that the diff panel rendered as widgets (change rows and
verdict badges in the page, no "Error displaying widget", no error output) and saves a
screenshot in a temporary folder (its path is printed; CI keeps it as an artifact).

Built for CI (``CI=true``, a fresh venv, root, no network, a busy 2-core machine): every wait
is for a condition, each with a generous but bounded timeout, and a failure names the step
that did not happen, with the kernel's state, the cells' prompts, any error output, the
browser's console errors, the tail of JupyterLab's log and a screenshot. JupyterLab runs with
its own config, data, settings and runtime folders, so nothing in ``~`` changes what it does,
and the ``python3`` kernel is pinned to this interpreter.

Skips where ``/usr/bin/chromium`` (or Playwright, or JupyterLab) is missing, except under
``CI=true``, where that is a failure. The notebook file is never written: autosave is off,
checkpoints go to the temporary folder, and the test checks the file is unchanged.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = "notebooks/01_explore_schema_changes.ipynb"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",  # containers often have a tiny /dev/shm
]
# Generous for a loaded 2-core machine (the whole run takes ~15 s on an idle one), bounded.
SERVER_START_TIMEOUT = 120.0
PORT_ATTEMPTS = 3
OPEN_TIMEOUT_MS = 120_000  # page load, cells in the page, kernel started and idle
CLICK_TIMEOUT_MS = 30_000  # "Run All Cells" took effect
RUN_TIMEOUT_MS = 240_000  # every cell ran (or one failed)
CHECK_TIMEOUT_MS = 30_000  # a rendered widget is visible
LOG_TAIL_LINES = 40

PROMPTS_JS = (
    "[...document.querySelectorAll("
    "'.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputArea-prompt')]"
)
# Some code cell is queued or has run ("[*]:" / "[3]:").
STARTED_JS = f"() => {PROMPTS_JS}.some(p => /\\[(\\*|\\d+)\\]/.test(p.textContent))"
# The text of the first output that is a Python traceback, or null. JupyterLab renders an
# error output with the stderr MIME type (there is no renderer for the error type itself).
TRACEBACK_JS = (
    "() => { const outputs = [...document.querySelectorAll("
    "'.jp-NotebookPanel:not(.lm-mod-hidden) "
    '[data-mime-type="application/vnd.jupyter.stderr"]\')]; '
    "const hit = outputs.find(o => o.innerText.includes('Traceback (most recent call last)')); "
    "return hit ? hit.innerText : null; }"
)
# Every code cell has run, or there is no point waiting longer: a traceback or a widget that
# failed to render (Run All stops at a failing cell, so the later prompts would never fill).
SETTLED_JS = (
    f"() => {{ if (({TRACEBACK_JS})() !== null) return true; "
    "if (document.body.innerText.includes('Error displaying widget')) return true; "
    f"const prompts = {PROMPTS_JS}; "
    "return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent)); }"
)


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def _skip_or_fail(reason: str) -> None:
    if _in_ci():
        pytest.fail(f"{reason} (CI=true: the browser test must run in CI)", pytrace=False)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return f"(cannot read {path}: {exc.strerror})"
    return "\n".join(text.splitlines()[-lines:])


def _prepare_home(home: Path) -> dict[str, str]:
    """Private Jupyter folders; returns the environment that points JupyterLab at them.

    User settings: no autosave (the notebook must stay output-free), no windowing (every cell
    stays in the DOM, so the checks see all of them), no news or update checks (no network,
    no toast over the screenshot). The ``python3`` kernel spec found first is this
    interpreter, so a ``python3`` spec elsewhere on the machine cannot run the notebook in an
    environment without evolvekit.
    """
    settings = home / "settings"
    user_settings = {
        "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
        "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
        "@jupyterlab/apputils-extension/notification": {
            "fetchNews": "false",
            "checkForUpdates": False,
        },
    }
    for name, value in user_settings.items():
        path = settings / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value), encoding="utf-8")
    data = home / "data"
    kernel = data / "kernels" / "python3"
    kernel.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    (kernel / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    folders = {name: home / name for name in ("config", "runtime", "ipython", "workspaces")}
    for folder in folders.values():
        folder.mkdir()
    return {
        **os.environ,
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTERLAB_WORKSPACES_DIR": str(folders["workspaces"]),
        "JUPYTER_CONFIG_DIR": str(folders["config"]),
        "JUPYTER_DATA_DIR": str(data),
        "JUPYTER_PATH": str(data),
        "JUPYTER_RUNTIME_DIR": str(folders["runtime"]),
        "IPYTHONDIR": str(folders["ipython"]),
        "PYTHONUNBUFFERED": "1",
    }


def _stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is not None:
        return
    server.terminate()  # the server shuts its kernels down on SIGTERM
    try:
        server.wait(30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(10)


def _wait_until_up(server: subprocess.Popen[bytes], base: str, token: str, log: Path) -> bool:
    """True once JupyterLab answers; False if it exited because the port was taken."""
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while True:
        if server.poll() is not None:
            if "already in use" in _tail(log):
                return False
            pytest.fail(f"JupyterLab exited with code {server.returncode} before answering; "
                        f"the end of its log ({log}):\n{_tail(log)}", pytrace=False)  # fmt: skip
        try:
            with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5) as reply:
                if reply.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"JupyterLab did not answer on {base} within {SERVER_START_TIMEOUT:.0f} "
                        f"s; the end of its log ({log}):\n{_tail(log)}", pytrace=False)  # fmt: skip
        time.sleep(0.25)


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
    env = _prepare_home(home)
    checkpoints = home / "checkpoints"
    checkpoints.mkdir()
    token = secrets.token_hex(16)
    for attempt in range(1, PORT_ATTEMPTS + 1):
        port = _free_port()
        log_path = home / f"jupyterlab-{attempt}.log"
        with log_path.open("wb") as log:
            server = subprocess.Popen(
                [
                    str(jupyter), "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
                    "--ServerApp.port_retries=0",  # a taken port is an exit, not another port
                    f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={REPO}",
                    "--allow-root", f"--FileCheckpoints.root_dir={checkpoints}",
                ],
                cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            if not _wait_until_up(server, base, token, log_path):
                continue  # someone took the port between our probe and JupyterLab's bind
            yield base, token, log_path
            return
        finally:
            _stop(server)
    pytest.fail(f"JupyterLab found no free port in {PORT_ATTEMPTS} attempts", pytrace=False)


@dataclass
class Diagnostics:
    """What a failure report needs: the page's errors, JupyterLab's log, where shots go."""

    log: Path
    shots: Path
    started: float = field(default_factory=time.monotonic)
    console: list[str] = field(default_factory=list)

    def listen(self, page: Any) -> None:
        page.on("console", lambda m: m.type == "error" and self.console.append(m.text))
        page.on("pageerror", lambda exc: self.console.append(f"page error: {exc}"))

    def report(self, page: Any) -> str:
        parts = [f"after {time.monotonic() - self.started:.1f} s"]
        try:
            status = page.locator(".jp-Notebook-ExecutionIndicator").first.get_attribute(
                "data-status", timeout=2_000
            )
            prompts = page.evaluate(f"() => {PROMPTS_JS}.map(p => p.textContent.trim())")
            traceback = page.evaluate(TRACEBACK_JS)
            parts.append(f"kernel status: {status}")
            parts.append(f"code cell prompts: {' '.join(prompts) or '(none in the page)'}")
            if traceback:
                parts.append(f"a cell failed:\n{traceback}")
            if page.get_by_text("Error displaying widget").count():
                parts.append('the page shows "Error displaying widget"')
            shot = self.shots / "failure.png"
            page.screenshot(path=str(shot), timeout=10_000)
            parts.append(f"screenshot: {shot}")
        except Exception as exc:  # the report must not hide the failure it reports
            parts.append(f"(could not inspect the page: {type(exc).__name__}: {exc})")
        if self.console:
            parts.append("browser console errors:\n  " + "\n  ".join(self.console[-10:]))
        parts.append(f"end of JupyterLab's log ({self.log}):\n{_tail(self.log)}")
        return "\n".join(parts)


@contextmanager
def step(what: str, page: Any, diagnostics: Diagnostics) -> Iterator[None]:
    """Turn a timeout or failed check into one clear failure naming the step that failed."""
    from playwright.sync_api import Error as PlaywrightError

    failure = None
    try:
        yield
    except (PlaywrightError, AssertionError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        failure = f"browser test: {what}: {first}\n{diagnostics.report(page)}"
    if failure is not None:  # without the chained traceback of what it already explains
        raise pytest.fail.Exception(failure, pytrace=False) from None


@pytest.fixture(scope="module")
def browser(jupyterlab: tuple[str, str, Path]) -> Iterator[Any]:
    """One headless Chromium for every notebook."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        try:
            chromium = pw.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True, timeout=60_000
            )
        except PlaywrightError as exc:
            pytest.fail(f"{CHROMIUM} did not start: {exc}", pytrace=False)
        try:
            yield chromium
        finally:
            chromium.close()


def _screenshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    chosen = os.environ.get("EVOLVEKIT_SCREENSHOTS", "").strip()
    if chosen:
        folder = Path(chosen).expanduser()
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    return tmp_path_factory.mktemp("browser-screenshots")


def _shutdown_kernels(base: str, token: str) -> None:
    """Shut the notebook's kernel down (the finalizers stop its simulator and broadcaster)."""
    with urllib.request.urlopen(f"{base}/api/sessions?token={token}", timeout=10) as reply:
        sessions = json.loads(reply.read())
    for session in sessions:
        request = urllib.request.Request(
            f"{base}/api/sessions/{session['id']}?token={token}", method="DELETE"
        )
        with urllib.request.urlopen(request, timeout=30):
            pass


@dataclass
class Journey:
    """What a notebook's journey needs: the page, its notebook, and where shots go."""

    page: Any
    notebook: Any
    diagnostics: Diagnostics
    prefix: str
    shots: list[Path] = field(default_factory=list)

    def step(self, what: str) -> Any:
        return step(f"{self.prefix}: {what}", self.page, self.diagnostics)

    def shot(self, name: str, target: Any = None, *, top: Any = None) -> Path:
        """A screenshot named ``<nn>-<name>.png``: of ``target`` (an element that fits the
        window), else of the window scrolled so that ``top`` is at its top."""
        path = self.diagnostics.shots / f"{self.prefix}-{name}.png"
        if target is not None:
            target.scroll_into_view_if_needed()
            target.screenshot(path=str(path))
        else:
            if top is not None:
                top.evaluate("e => e.scrollIntoView({block: 'start'})")
            self.page.screenshot(path=str(path))
        assert path.stat().st_size > 5_000, f"the screenshot {path.name} is blank"
        self.shots.append(path)
        return path

    def panel(self, title: str) -> Any:
        """The first rendered view of the panel whose heading starts with ``title``."""
        return self.notebook.locator(".widget-vbox", has=self.page.locator(
            f".widget-html-content b:text-is('{title}')")).first  # fmt: skip

    def button(self, scope: Any, label: str) -> Any:
        return scope.locator("button", has_text=re.compile(f"^\\s*{re.escape(label)}\\s*$")).first

    def dropdown(self, scope: Any, label: str) -> Any:
        return scope.locator(".widget-dropdown", has=self.page.locator(
            f"label:text-is('{label}')")).locator("select").first  # fmt: skip


def _journey_00(j: Journey) -> None:
    from playwright.sync_api import expect

    with j.step("the publish and broadcast tables"):
        published = j.notebook.locator(".ek-panel", has_text="1/1 published").first
        expect(published).to_be_visible(timeout=CHECK_TIMEOUT_MS)
        expect(published.locator(".ek-key", has_text="INT-4421").first).to_be_visible()
        received = j.notebook.locator(".ek-panel", has_text="event(s) sent").first
        expect(received.locator("tr", has_text="3.0.0").first).to_be_visible()
        cell = j.notebook.locator(".jp-CodeCell", has=j.page.locator(".ek-panel",
                                  has_text="1/1 published")).first  # fmt: skip
        j.shot("quickstart-tables", cell.locator(".jp-OutputArea"))


def _journey_01(j: Journey) -> None:
    from playwright.sync_api import expect

    panel = j.panel("Schema diff")
    with j.step("comparing 2.1.0 with 3.0.0 in the menus"):
        j.dropdown(panel, "Subject").select_option("interaction.completed")
        j.dropdown(panel, "Old").select_option("2.1.0")
        j.dropdown(panel, "New").select_option("3.0.0")
        j.button(panel, "Compare").click()
        expect(panel.locator(".ek-badge[data-mode='backward']")).to_have_attribute(
            "data-breaking", "4", timeout=CHECK_TIMEOUT_MS)  # fmt: skip
        rows = panel.locator("tr.ek-change")
        expect(rows.first).to_have_class(re.compile("ek-breaking"))
        expect(rows.last).to_have_class(re.compile("ek-info"))
        width = panel.locator("button", has_text="Check whole history").first.evaluate(
            "b => b.scrollWidth <= b.clientWidth")  # the label is not cut
        assert width, "the history button's label is cut"
    with j.step("expanding a breaking row"):
        row = panel.locator("tr.ek-change.ek-breaking").first
        row.locator("summary").click()
        detail = row.locator(".ek-detail")
        expect(detail).to_be_visible()
        expect(detail).to_contain_text("example event")
        expect(detail.locator(".ek-explanation")).to_contain_text("rejected")
        expect(detail.locator(".ek-example")).to_be_visible()
        # issue 13: the settings come from subject.yaml, named as `evolvekit diff` names them
        expect(panel.locator(".ek-settings")).to_have_text(
            "mode none from subject.yaml (nothing enforced; severities for backward), "
            "policy strict from default")  # fmt: skip
        j.shot("diff-expanded-row", top=panel.locator(".ek-settings"))
    with j.step("the side-by-side view linked to the rows"):
        linked = panel.locator(".ek-sbs .ek-linked")
        assert linked.count() > 0, "no changed line is linked to a row"
        changed = panel.locator(".ek-sbs .ek-linked").first
        changed.scroll_into_view_if_needed()
        expect(changed).to_be_visible()
        changed.click()  # jumps to (and outlines) its table row
        assert panel.locator(".ek-sbs :is(.ek-add, .ek-del, .ek-mod)").count() > 0
        j.shot("diff-side-by-side", panel.locator(".ek-sbs"))
    rows_before = panel.locator("tr.ek-change").count()
    with j.step("uploading a broken file keeps the old table"):
        uploads = panel.locator(".widget-upload")
        for index, (file_name, content) in enumerate(
            (("broken.json", b'{"type":,}'), ("new.json", b'{"type":"object"}'))
        ):
            with j.page.expect_file_chooser() as chooser:
                uploads.nth(index).click()
            chooser.value.set_files(files=[{"name": file_name, "mimeType": "application/json",
                                            "buffer": content}])  # fmt: skip
        error = panel.locator(".ek-error", has_text="broken.json")
        expect(error).to_be_visible(timeout=CHECK_TIMEOUT_MS)
        expect(error).to_contain_text("kept")
        assert panel.locator("tr.ek-change").count() == rows_before, "the good table was wiped"
        j.shot("diff-broken-upload", top=panel.locator(".widget-upload").first)
    with j.step("the matrix: a click opens that diff; the lineage"):
        cell = panel.locator(".ek-matrix-cell.ek-verdict-forward").first
        expect(cell).to_be_visible()
        cell.click()
        # 2.0.0 -> 2.1.0 breaks backward only (9 optional fields added to an open model)
        expect(panel.locator(".ek-badge[data-mode='forward']")).to_have_attribute(
            "data-breaking", "0", timeout=CHECK_TIMEOUT_MS)  # fmt: skip
        expect(panel.locator("code", has_text=re.compile(r"^interaction\.completed@2\.0\.0$")
                             ).first).to_be_visible()  # fmt: skip
        expect(panel.locator(".ek-lineage td[data-status='renamed']").first).to_be_visible()
        j.shot("matrix", panel.locator(".widget-gridbox").first)
        j.shot("lineage", panel.locator(".ek-lineage").first)
    with j.step("checking the whole history"):
        j.button(panel, "Check whole history (transitive)").click()
        history = panel.locator(".ek-history").first
        expect(history).to_contain_text("breaks with 3 of 3 earlier version(s)")
        j.shot("history", history)


RULES_WITH_TYPO = "unmapped: keep\nrules:\n  - from: agentEmail\n    to: agentId\n" \
    "    transform: lowercase\n  - from: callDuration\n    to: durationSeconds\n"  # fmt: skip
RULES_FIXED = RULES_WITH_TYPO.replace("lowercase", "lower")


def _journey_02(j: Journey) -> None:
    from playwright.sync_api import expect

    panel = j.panel("Rule editor")
    text = panel.locator("textarea").first
    with j.step("a rule with a typo shows the error"):
        text.fill(RULES_WITH_TYPO)
        error = panel.locator(".ek-error", has_text="lowercase").first
        expect(error).to_be_visible(timeout=CHECK_TIMEOUT_MS)
        j.shot("rule-typo", top=panel.locator("textarea").first)
    with j.step("the fixed rule makes every sample valid"):
        text.fill(RULES_FIXED)
        expect(panel.locator(".ek-error", has_text="lowercase")).to_have_count(
            0, timeout=CHECK_TIMEOUT_MS)  # fmt: skip
        badge = panel.locator(".ek-badge", has_text="3/3 valid after mapping").first
        expect(badge).to_be_visible(timeout=CHECK_TIMEOUT_MS)
        j.shot("rule-fixed", top=panel.locator("textarea").first)


def _journey_03(j: Journey) -> None:
    from playwright.sync_api import expect

    panel = j.panel("Publish to CXone")
    with j.step("publishing with faults: retries under business keys"):
        faults = panel.locator(".widget-inline-hbox", has=j.page.locator(
            "label:text-is('Faults')")).locator("input").first  # fmt: skip
        faults.fill("429x2,503")
        faults.press("Enter")
        j.button(panel, "Apply faults").click()
        expect(panel.locator(".ek-note", has_text="Faults now: 429x2,503").first).to_be_visible(
            timeout=CHECK_TIMEOUT_MS)  # fmt: skip
        j.button(panel, "Publish").click()
        expect(panel.locator(".ek-badge", has_text="3/3 published").first).to_be_visible(
            timeout=CHECK_TIMEOUT_MS)  # fmt: skip
        throttled = panel.locator("tr", has_text="not sent (client backs off)")
        expect(throttled).to_have_count(2, timeout=CHECK_TIMEOUT_MS)
        expect(throttled.first.locator(".ek-key")).to_have_text(re.compile(r"^INT-\d+$"))
        j.shot("publish-with-faults", top=faults)
    with j.step("the Stop button stops the simulator"):
        j.button(panel, "Stop simulator").click()
        expect(panel.locator(".ek-note", has_text="starts on first use").first).to_be_visible(
            timeout=CHECK_TIMEOUT_MS)  # fmt: skip


def _journey_04(j: Journey) -> None:
    from playwright.sync_api import expect

    panel = j.panel("WebSocket broadcaster")
    with j.step("restarting the broadcaster with Stop and Start"):
        j.button(panel, "Stop").click()
        expect(panel.locator(".ek-note", has_text="stopped").first).to_be_visible(
            timeout=CHECK_TIMEOUT_MS)  # fmt: skip
        j.button(panel, "Start").click()
        expect(panel.locator(".ek-panel", has_text="running at").first).to_be_visible(
            timeout=CHECK_TIMEOUT_MS)  # fmt: skip
    with j.step("a consumer on 1.0.0 receives the 2.0.0 events"):
        j.dropdown(panel, "Feed in").select_option("1.0.0")
        j.button(panel, "Start feed").click()
        expect(panel.locator(".ek-panel", has_text="version=1.0.0").first).to_be_visible(
            timeout=CHECK_TIMEOUT_MS)  # fmt: skip
        j.button(panel, "Send previewed events").click()
        rows = panel.locator(".ek-panel", has_text="Feed").locator("tbody tr")
        expect(rows).to_have_count(3, timeout=CHECK_TIMEOUT_MS)
        expect(rows.first).to_contain_text("1.0.0")
        expect(rows.first.locator(".ek-key")).to_have_text(re.compile(r"^INT-\d+$"))
        assert j.dropdown(panel, "Events are").input_value() == "2.0.0"
        j.shot("broadcast-consumer-1.0.0", top=panel)


NOTEBOOKS = {
    "00_quickstart.ipynb": _journey_00,
    "01_explore_schema_changes.ipynb": _journey_01,
    "02_prototype_mapping_rules.ipynb": _journey_02,
    "03_test_publish_to_cxone.ipynb": _journey_03,
    "04_broadcast_versioned_events.ipynb": _journey_04,
}


def test_static_html_report_shows_the_pictures(
    jupyterlab: tuple[str, str, Path], browser: Any, tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """`evolvekit check --format html`, opened from disk (offline): the matrix and the lineage
    render, and a click on a matrix cell opens that pair's diff."""
    from playwright.sync_api import expect

    report = tmp_path / "check.html"
    with report.open("w", encoding="utf-8") as out:
        proc = subprocess.run(
            [sys.executable, "-m", "evolvekit", "check", "--format", "html",
             "--schemas", str(REPO / "schemas")],
            stdout=out, stderr=subprocess.PIPE, cwd=REPO, check=False,
        )  # fmt: skip
    assert proc.returncode == 0, proc.stderr.decode()
    diagnostics = Diagnostics(jupyterlab[2], _screenshot_dir(tmp_path_factory))
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.route("**/*", lambda route: route.abort() if not route.request.url.startswith(
        "file:") else route.continue_())  # offline: nothing but the file itself  # fmt: skip
    try:
        page.goto(report.as_uri())
        with step("the static report's matrix and lineage", page, diagnostics):
            section = page.locator(".ek-subject-report", has_text="interaction.completed").first
            cells = section.locator(".ek-matrix td.ek-cell")
            expect(cells).to_have_count(16)
            expect(section.locator(".ek-lineage td[data-status='renamed']").first).to_be_visible()
            target = section.locator(".ek-pair[id$='interaction.completed-2.0.0-2.1.0']")
            section.locator("td.ek-cell[data-old='2.0.0'][data-new='2.1.0'] a").click()
            expect(page).to_have_url(re.compile(r"#ek-pair-interaction\.completed-2\.0\.0-2\.1"))
            expect(target).to_be_in_viewport()
            expect(target).to_contain_text("interaction.completed@2.1.0")
            path = diagnostics.shots / "01-static-report-matrix.png"
            section.locator(".ek-matrix").screenshot(path=str(path))
    finally:
        page.close()


@pytest.mark.parametrize("name", list(NOTEBOOKS))
def test_notebook_journey_in_jupyterlab(
    name: str,
    jupyterlab: tuple[str, str, Path],
    browser: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Run all cells of the notebook, then play its analyst's journey in the page."""
    base, token, log_path = jupyterlab
    notebook_file = REPO / "notebooks" / name
    before = notebook_file.read_bytes()
    expected_cells = sum(c["cell_type"] == "code" for c in json.loads(before)["cells"])
    diagnostics = Diagnostics(log_path, _screenshot_dir(tmp_path_factory))
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    diagnostics.listen(page)
    try:
        notebook = _run_all(page, base, token, f"notebooks/{name}", expected_cells, diagnostics)
        elapsed = time.monotonic() - diagnostics.started
        journey = Journey(page, notebook, diagnostics, name[:2])
        page.set_default_timeout(CHECK_TIMEOUT_MS)
        with journey.step("panels survive Run All"):
            assert notebook.locator(".ek-panel").count() > 0, "no panel is left in the page"
        NOTEBOOKS[name](journey)
    finally:
        page.close()
        _shutdown_kernels(base, token)
    assert notebook_file.read_bytes() == before, "the browser run must not save the notebook"
    print(f"\n{name}: ran in {elapsed:.1f} s; screenshots: "
          + ", ".join(str(p) for p in journey.shots))  # fmt: skip


def _run_all_cells(page: Any, notebook: Any) -> int:
    """Choose Run > Run All Cells until execution starts; returns the clicks it took.

    The menu acts on JupyterLab's current widget, which a click on a cell selects; until the
    notebook is current (or the kernel connection is ready), the item is disabled or the
    click is lost. A click is repeated only when no cell was queued or ran since the last
    one, so the notebook never runs twice.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    attempts = 4
    for attempt in range(1, attempts + 1):
        notebook.locator(".jp-Cell .jp-InputPrompt").first.click()
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        item = page.locator(".lm-Menu-item", has_text=re.compile(r"^Run All Cells")).first
        item.wait_for(state="visible")
        if "lm-mod-disabled" in (item.get_attribute("class") or ""):
            page.keyboard.press("Escape")
            page.wait_for_timeout(1_000)  # the menu has no event for "became enabled"
            continue
        item.click()
        try:
            page.wait_for_function(STARTED_JS, timeout=CLICK_TIMEOUT_MS)
            return attempt
        except PlaywrightTimeout:
            continue
    raise AssertionError(f"Run All Cells did not start the notebook after {attempts} tries")


def _run_all(
    page: Any, base: str, token: str, path: str, expected_cells: int, diagnostics: Diagnostics
) -> Any:
    """Open the notebook, run all cells from the menu, wait until every cell ran cleanly."""
    from playwright.sync_api import expect

    page.set_default_timeout(OPEN_TIMEOUT_MS)
    notebook = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    indicator = page.locator(".jp-Notebook-ExecutionIndicator").first
    with step(f"opening {path}", page, diagnostics):
        page.goto(f"{base}/lab/tree/{path}?reset&token={token}", timeout=OPEN_TIMEOUT_MS)
        expect(notebook.locator(".jp-Cell").first).to_be_visible(timeout=OPEN_TIMEOUT_MS)
        # JupyterLab renders cells in batches: wait until every code cell is in the page.
        expect(notebook.locator(".jp-CodeCell")).to_have_count(
            expected_cells, timeout=OPEN_TIMEOUT_MS
        )
    with step("waiting for the kernel to start", page, diagnostics):
        expect(indicator).to_have_attribute("data-status", "idle", timeout=OPEN_TIMEOUT_MS)
    with step("choosing Run > Run All Cells", page, diagnostics):
        _run_all_cells(page, notebook)
    with step(f"running all {expected_cells} code cells", page, diagnostics):
        page.wait_for_function(SETTLED_JS, timeout=RUN_TIMEOUT_MS)
        assert page.evaluate(TRACEBACK_JS) is None, "a cell failed (its traceback is below)"
        assert page.get_by_text("Error displaying widget").count() == 0, (
            'a widget did not render ("Error displaying widget")'
        )
        expect(indicator).to_have_attribute("data-status", "idle", timeout=RUN_TIMEOUT_MS)
    return notebook
