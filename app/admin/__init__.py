"""Platform administration: approving teams, reading the whole audit trail."""
