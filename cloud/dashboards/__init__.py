"""Grafana boards as code: catalog of names and units, board builders, provisioning, push, preview.

See docs/dashboards.md.
"""
