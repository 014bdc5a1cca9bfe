"""evolvekit.schema: registry, diff, compatibility, reports, validation, inference."""
