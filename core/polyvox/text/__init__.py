"""Text in: script markup, languages, segments and chunking under an engine's limit."""
