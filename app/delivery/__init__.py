"""Delivery of awarded work: check-ins, quiet-period warnings, missed delivery and what the
owner does then (extend, award the next-ranked proposal, close with a refund)."""
