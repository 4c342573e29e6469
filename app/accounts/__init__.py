"""People and signing in. Until GitHub sign-in lands, a local-only demo sign-in stands in."""
