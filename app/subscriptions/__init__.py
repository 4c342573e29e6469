"""Email subscriptions to new opportunities (double opt-in, instant or daily digest)."""
