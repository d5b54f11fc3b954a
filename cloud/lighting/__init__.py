"""Lighting control in the cloud: programs, overrides, adaptive policy."""
