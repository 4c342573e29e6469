"""GitHub: the API client, issue-link verification (and, later, webhooks and pay-on-pull checks)."""
