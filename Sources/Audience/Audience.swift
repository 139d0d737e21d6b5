// Audience module: see docs/architecture.md.
