"""evolvekit.mapping: rule files, transforms, compiled mapper, migrations, suggestions (pure)."""
