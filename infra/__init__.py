"""Bringing up real servers for OODS: the MinIO community server, built from source."""
