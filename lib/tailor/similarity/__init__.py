"""Item-item and user-user similarity from a sparse co-occurrence self-join (never a cartesian product)."""
