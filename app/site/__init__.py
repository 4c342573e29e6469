"""Site-wide pages: home, health and readiness."""
