"""Contenders of the accuracy benchmark (interface in base.py)."""
