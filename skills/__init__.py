"""Skills built on the runtime: autocomplete, translation, speech and context memory."""
