"""Peer review of drafts by public servants from other teams."""
