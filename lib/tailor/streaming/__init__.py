"""Structured Streaming: recommendations updated from recent events."""
