"""Shipped inference rules (package data)."""
