"""Participation metrics per quarter and per team, computed from the data alone."""
