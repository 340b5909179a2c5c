"""Web: the dashboard's templates and static files, served by the API app.

Sits on top: may import any room.
"""

__all__: list[str] = []
