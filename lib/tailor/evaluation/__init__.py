"""Splits and metrics for judging recommenders (and, later, classifiers)."""
