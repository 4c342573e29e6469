"""Claims: disagreements about delivery, opened by either side, resolved by two administrators."""
