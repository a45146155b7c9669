"""Data: files in and out. ``io`` (atomic writes, README sections, the one cache key), ``tables``
(checked CSV reading: file, column and row in one line), ``download`` (a public archive, resumable).
Imports only ``shared.runtime``."""
