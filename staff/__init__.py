"""Staff: clerk and supervisor sign-in, sessions and the role every route declares."""
