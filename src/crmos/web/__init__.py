"""Web: the console — server-rendered pages (Jinja2 + htmx) for people who work with customers.

Sits on top: may import any room.
"""

from crmos.web.mount import mount

__all__ = ["mount"]
