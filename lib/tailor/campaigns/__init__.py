"""Campaign audiences (opt-outs, suppression, frequency cap, priority), sends, and A/B experiments."""
