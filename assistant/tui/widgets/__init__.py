"""Reusable widgets, grouped by area."""
