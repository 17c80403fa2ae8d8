"""``tailor report``: one self-contained HTML page (figures embedded as PNG data URIs) drawn from small
aggregates of the day's tables."""
