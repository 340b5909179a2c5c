"""Compliance: policy packs, DSR, consent, validators, crypto-shredding, the audit chain.

Filled in by the compliance issue.
"""

__all__: list[str] = []
