"""Teams, their projects and who holds which role in them."""
