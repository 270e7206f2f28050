"""Data: the records store, the shared-data loaders, the papers' tables, the data directory."""
