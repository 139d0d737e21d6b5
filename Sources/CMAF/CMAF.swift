// CMAF module: see docs/architecture.md.
