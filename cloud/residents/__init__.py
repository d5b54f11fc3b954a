"""Residents' data: waste-centre wait times and forecasts, traffic levels."""
