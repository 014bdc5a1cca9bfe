"""evolvekit.workbench: thin ipywidgets views over the package, for JupyterLab.

``SchemaDiffPanel`` (compare schema versions), ``RuleEditor`` (mapping rules with a live
preview), ``PublishPanel`` (test-publish to the CXone simulator or a tenant) and
``BroadcasterPanel`` (a background WebSocket broadcaster with a live consumer feed). Each
exposes its state as plain attributes and methods, so notebooks and pytest drive them without
clicking; ``panel.widget`` is what a notebook displays. Background work (the simulator, the
broadcaster, a consumer feed) stops with the panel's Stop button, ``panel.stop()``, or at kernel
shutdown. ``publish`` and ``broadcast`` are the synchronous one-call API (no threads or
event loops in a cell); ``compatibility_matrix`` and ``field_lineage`` the per-subject pictures.
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
    "publish": "evolvekit.workbench.api",
    "broadcast": "evolvekit.workbench.api",
    "PublishReport": "evolvekit.workbench.api",
    "BroadcastReport": "evolvekit.workbench.api",
    "ConsumerFeed": "evolvekit.workbench.feed",
    "compatibility_matrix": "evolvekit.schema.matrix",
    "field_lineage": "evolvekit.schema.matrix",
}

__all__ = [
    "BroadcastReport",
    "BroadcasterPanel",
    "ConsumerFeed",
    "PublishPanel",
    "PublishReport",
    "RuleEditor",
    "SchemaDiffPanel",
    "broadcast",
    "compatibility_matrix",
    "field_lineage",
    "publish",
]

if TYPE_CHECKING:  # pragma: no cover
    from evolvekit.schema.matrix import compatibility_matrix, field_lineage
    from evolvekit.workbench.api import BroadcastReport, PublishReport, broadcast, publish
    from evolvekit.workbench.broadcaster_panel import BroadcasterPanel
    from evolvekit.workbench.diff_panel import SchemaDiffPanel
    from evolvekit.workbench.feed import ConsumerFeed
    from evolvekit.workbench.publish_panel import PublishPanel
    from evolvekit.workbench.rule_editor import RuleEditor


__getattr__ = lazy_getattr(__name__, _EXPORTS, globals())
