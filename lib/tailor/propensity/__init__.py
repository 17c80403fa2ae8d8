"""Churn and purchase propensity: point-in-time labels, Spark ML pipelines, the model store."""
