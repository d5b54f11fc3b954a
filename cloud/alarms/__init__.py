"""Alarms: open/clear life cycle from edge events and silence checks."""
