"""The Orbit resource model: pydantic types, label selectors and merge patch. No I/O here."""
