"""Personal data: keyed pseudonyms at ingest, and forgetting customers everywhere (``tailor forget``)."""
