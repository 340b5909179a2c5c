"""Identity: identifier normalisation, real-time stitching, conflict guards, batch matching.

Filled in by the identity-resolution issue; imports core, store and ingest only.
"""

__all__: list[str] = []
