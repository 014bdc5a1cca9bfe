"""evolvekit.workbench: thin ipywidgets views over the package, for JupyterLab.

``SchemaDiffPanel`` (compare schema versions), ``RuleEditor`` (mapping rules with a live
preview), ``PublishPanel`` (test-publish to the CXone simulator or a tenant) and
``BroadcasterPanel`` (a background WebSocket broadcaster with a live consumer feed). Each
exposes its state as plain attributes and methods, so notebooks and pytest drive them without
clicking; ``panel.widget`` is what a notebook displays, ``panel.close()`` stops what it runs.
Needs the ``notebook`` extra (ipywidgets); imported lazily.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from evolvekit._lazy import lazy_getattr

_EXPORTS = {
    "SchemaDiffPanel": "evolvekit.workbench.diff_panel",
    "RuleEditor": "evolvekit.workbench.rule_editor",
    "PublishPanel": "evolvekit.workbench.publish_panel",
    "BroadcasterPanel": "evolvekit.workbench.broadcaster_panel",
}

__all__ = ["BroadcasterPanel", "PublishPanel", "RuleEditor", "SchemaDiffPanel"]

if TYPE_CHECKING:  # pragma: no cover
    from evolvekit.workbench.broadcaster_panel import BroadcasterPanel
    from evolvekit.workbench.diff_panel import SchemaDiffPanel
    from evolvekit.workbench.publish_panel import PublishPanel
    from evolvekit.workbench.rule_editor import RuleEditor


__getattr__ = lazy_getattr(__name__, _EXPORTS, globals())
