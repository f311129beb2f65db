"""Staff: clerk and supervisor sign-in, sessions and the role every route declares."""

from .views import bp

__all__ = ["bp"]
