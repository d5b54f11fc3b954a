"""Energy baselines and savings series per cabinet, commune and territory."""
