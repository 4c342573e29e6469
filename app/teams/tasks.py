"""Background jobs for teams: none yet (invitations arrive with the accounts work)."""
