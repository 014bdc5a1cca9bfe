"""The frame the broadcaster and publish panels share: a status line and a message line, a
failure shown in the message line as one sentence (never a traceback), the controls wired and
laid out in one order, the widget displayed by Jupyter. A panel builds its controls, then calls
``_finish()``; it supplies ``_wire``, ``_layout`` and ``_draw_status``.
"""

from __future__ import annotations

import ipywidgets as w

from evolvekit.workbench._common import describe, error_box, show


class ActionPanel:
    """Base of a panel with buttons that act (start, stop, send, publish)."""

    widget: w.VBox
    error: str | None
    status: w.HTML
    message: w.HTML

    def _finish(self) -> None:
        """Once the controls exist: wire them to their handlers, lay them out, draw the status."""
        self._wire()
        self.widget = self._layout()
        self._draw_status()

    def _wire(self) -> None:
        raise NotImplementedError

    def _layout(self) -> w.VBox:
        raise NotImplementedError

    def _draw_status(self) -> None:
        raise NotImplementedError

    def _ipython_display_(self) -> None:
        show(self.widget)

    def _show_error(self, exc: BaseException) -> None:
        """``exc`` as one line in the message line (and in ``error``)."""
        self.error = describe(exc)
        self.message.value = error_box(self.error)
