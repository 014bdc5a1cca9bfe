"""evolvekit.broadcast."""
