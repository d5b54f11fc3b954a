"""Ingest: MQTT in, time-series store and registry out, acks back once stored."""
