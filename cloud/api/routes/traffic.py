"""Traffic levels as GeoJSON (public API, no token).

One feature per loop-station lane (RFC 7946, ``application/geo+json``), cached for one station
interval: the answer cannot change faster than the stations report.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from cloud.api.problems import problem_responses
from cloud.api.routes import API_PREFIX
from cloud.public.geojson import FeatureCollection
from cloud.public.respond import (
    PUBLIC_MARK,
    cached_answer,
    public_context,
    public_json,
    settings_of,
)
from cloud.public.traffic import traffic_state
from cloud.public.ttl import Computed

router = APIRouter(prefix=API_PREFIX, tags=["residents"])
GEOJSON = "application/geo+json"
LANE_PROPERTIES: dict[str, Any] = {
    "gateway": "station's gateway",
    "device": "the loop station",
    "lane": "lane number",
    "direction": "the lane's direction",
    "segment": "road segment name",
    "level": "DATEX II: freeFlow, heavy, congested, impossible or unknown (stale)",
    "flow_vph": "vehicles per hour over the last interval",
    "occupancy_pct": "share of the interval the loop was covered, %",
    "speed_kmh": "mean speed (double loops only, else null)",
    "interval_s": "the station's reporting interval",
    "observed_at": "when the interval was measured (UTC)",
    "age_s": "seconds since then",
    "stale": "no reading for three intervals (level `unknown`)",
}


@router.get(
    "/traffic",
    response_model=FeatureCollection,
    summary="Traffic levels per lane (GeoJSON)",
    description=(
        "A GeoJSON FeatureCollection (RFC 7946: WGS-84, longitude first, 7 decimals) with one "
        "feature per loop-station lane. Properties: "
        + "; ".join(f"`{name}` {meaning}" for name, meaning in LANE_PROPERTIES.items())
        + ". Cached for one station interval; no token needed."
    ),
    responses={
        200: {"content": {GEOJSON: {}}},
        **problem_responses(429, 503),
    },
    openapi_extra=PUBLIC_MARK,
)
async def traffic(request: Request) -> Response:
    ctx = public_context(request)
    settings = settings_of(request)
    now = ctx.clock.now()
    # The window is the shortest station interval; a step late when it changes, which is harmless.
    intervals = getattr(request.app.state, "traffic_refresh_s", settings.traffic_interval_s)

    async def compute() -> Computed:
        state = await traffic_state(ctx.store, ctx.deps.sessions, now, settings)
        request.app.state.traffic_refresh_s = state.refresh_s
        return state.collection.model_dump_json().encode(), {}

    cached, left = await cached_answer(request, ("traffic",), now, intervals, compute)
    return public_json(request, cached, left, media_type=GEOJSON)
