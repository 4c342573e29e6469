"""Notifications: an in-app list and email, in each person's language, once per event."""
