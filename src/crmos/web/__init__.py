"""Web: the console — server-rendered pages (Jinja2 + htmx) for people who work with customers.

Sits on top: may import any room.
"""

from crmos.web.mount import create_app, mount

__all__ = ["create_app", "mount"]
