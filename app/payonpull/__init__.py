"""Pay on pull: from a merged pull request to a released payment, and the work's reactions to
what happens to its money."""
