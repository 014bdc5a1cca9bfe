"""evolvekit.workbench."""
