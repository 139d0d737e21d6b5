// Transcoder module: see docs/architecture.md.
