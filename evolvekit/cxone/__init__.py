"""evolvekit.cxone."""
