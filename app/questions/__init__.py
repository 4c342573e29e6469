"""Questions from developers, answers from the team, and numbered addenda."""
