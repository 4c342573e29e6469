"""Proposals: writing, submitting and withdrawing them, and who may read them when."""
