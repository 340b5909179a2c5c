"""Web: the dashboard — a static page that reads the management API with the user's admin key.

Sits on top: may import any room.
"""

from crmos.web.dashboard import router

__all__ = ["router"]
