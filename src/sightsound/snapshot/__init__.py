"""Immutable, versioned snapshots of accepted traces: selection, student targets, export."""
