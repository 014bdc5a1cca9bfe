"""The diff panel's mode and policy: the analyst's menu choice over the subject's settings.

A choice made in the menus (or given to ``SchemaDiffPanel(mode=..., policy=...)``) is a
"flag", as ``--mode`` / ``--policy`` are for ``evolvekit diff``; without one, a registry
subject's ``subject.yaml`` applies (``compat.subject_settings``), else backward / strict.
``text`` words the result as ``evolvekit diff``'s header does (``report.settings_origin``).
"""

from __future__ import annotations

from evolvekit.schema.compat import Settings, check_mode_name, check_policy, subject_settings
from evolvekit.schema.registry import SchemaRegistry
from evolvekit.schema.report import judging_mode, settings_origin


class SettingsChoice:
    """What the analyst chose (None: the subject's) and the settings last resolved."""

    def __init__(self, registry: SchemaRegistry, mode: str | None = None,
                 policy: str | None = None) -> None:  # fmt: skip
        self.registry = registry
        self.chosen_mode = check_mode_name(mode) if mode is not None else None
        self.chosen_policy = check_policy(policy) if policy is not None else None
        self.settings = self.resolve(None)

    def resolve(self, subject: str | None) -> Settings:
        """Menu choice over subject.yaml over default, for ``subject`` (None: no subject)."""
        mode, policy = self.chosen_mode, self.chosen_policy
        if subject and subject in self.registry.subjects():
            self.settings = subject_settings(self.registry, subject, mode=mode, policy=policy)
        else:
            self.settings = Settings(
                mode or "backward", "flag" if mode else "default",
                policy or "strict", "flag" if policy else "default",
            )  # fmt: skip
        return self.settings

    def choose(self, mode: str, policy: str) -> None:
        """The menus now show ``mode`` and ``policy``: the one that differs from the settings
        last resolved is the analyst's choice (the other keeps following the subject)."""
        if mode != self.judged:
            self.chosen_mode = check_mode_name(mode)
        if policy != self.settings.policy:
            self.chosen_policy = check_policy(policy)

    def forget(self) -> None:
        """Drop the menu choices: the subject's settings apply again."""
        self.chosen_mode = self.chosen_policy = None

    @property
    def judged(self) -> str:
        """The direction the table judges by (``none`` and ``*_transitive`` map to one)."""
        return judging_mode(self.settings.mode)

    @property
    def text(self) -> str:
        """e.g. ``mode none from subject.yaml (nothing enforced; severities for backward),
        policy strict from default``."""
        s = self.settings
        return settings_origin(s.mode, s.mode_source, s.policy, s.policy_source, self.judged)
