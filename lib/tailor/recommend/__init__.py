"""Recommenders. Each returns top-N candidates per user: ``user_id, item_id, score, rank``."""
