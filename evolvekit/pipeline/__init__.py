"""evolvekit.pipeline."""
