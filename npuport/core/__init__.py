"""The torch-free core every stage builds on: errors, the manifest, files, buckets, devices, decisions, reports,
texts, the bundled corpus and golden data. Imports numpy and pydantic only."""
