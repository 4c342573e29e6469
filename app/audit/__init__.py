"""The audit trail: every state change and security-relevant action is recorded here."""
