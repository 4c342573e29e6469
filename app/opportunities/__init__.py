"""Opportunities: drafting, publishing, the lifecycle, and public listing and search."""
