"""evolvekit.schema: registry, diff, compatibility, reports, validation, inference (pure but registry.py)."""
