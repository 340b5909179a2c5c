"""API: the FastAPI app — Segment-compatible intake at /v1, management at /api/v1, problem+json.

Sits on top: may import any room.
"""

from crmos.api.app import create_app

__all__ = ["create_app"]
