"""What the public (tokenless) API and the residents' page are built from: the answers' models,
reading them from the derived series of :mod:`cloud.residents`, GeoJSON, freshness, and the
small in-process cache that keeps the public endpoints cheap under load."""
