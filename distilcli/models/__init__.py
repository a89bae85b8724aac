"""The model layer: references, architecture adapters, loading and students."""
