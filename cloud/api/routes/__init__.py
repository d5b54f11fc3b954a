"""HTTP routes, one module per resource; ``create_app`` includes each module's ``router``.

Routers carry their full path (``API_PREFIX`` included) and are included without a prefix: the
route a request matched then knows its whole template, which the metrics label requests with.
"""

API_PREFIX = "/api/v1"
