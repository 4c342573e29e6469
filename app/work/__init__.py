"""Each person's own work: "My work" for developers, "Needs you" for team members and
administrators. It reads across the domains below it; none of them imports it."""
