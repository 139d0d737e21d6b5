// Packager module: see docs/architecture.md.
