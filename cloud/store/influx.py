"""The InfluxDB backend, through the v1 HTTP API that InfluxDB 1.x serves natively and 2.x/3.x
serve for compatibility: line protocol on ``/write`` (gzip, ``precision=ms``), InfluxQL on
``/query`` (``epoch=ms``), ``/ping`` for health.

Errors: no answer, a timeout, 5xx, 429, 401/403 or 404 (database missing) →
:class:`StoreUnavailable`; 400/413 on a write (bad line, field type conflict, points beyond the
retention policy; InfluxDB keeps the good points of a partial write) → :class:`StoreRejected`;
400 or a statement error on a query → :class:`QueryError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import logging
from collections.abc import Sequence
from typing import Any

import httpx
import msgspec

from cloud.errors import QueryError, StoreError, StoreRejected, StoreUnavailable
from cloud.store import influxql as Q
from cloud.store.base import TimeSeriesStore
from cloud.store.counters import SeriesSamples
from cloud.store.influx_setup import ensure_database
from cloud.store.lineprotocol import encode_lines
from cloud.store.points import FieldType, FieldValue, Point
from cloud.store.query import AggregateFn, Selection, Windows
from cloud.store.results import (
    Latest,
    Number,
    Sample,
    StoreHealth,
    WindowSeries,
    latest_rows,
    window_series,
)
from cloud.store.settings import InfluxSettings

log = logging.getLogger(__name__)
_REJECTED = frozenset({400, 413, 422})
_DETAIL_CHARS = 300


class InfluxStore(TimeSeriesStore):
    """A :class:`TimeSeriesStore` on InfluxDB. Use :meth:`open`, or construct it and let the first
    write set up the database."""

    backend = "influxdb"

    def __init__(self, settings: InfluxSettings) -> None:
        self.settings = settings
        headers = {"User-Agent": "eclor-cloud"}
        auth: httpx.BasicAuth | None = None
        if settings.token is not None:
            headers["Authorization"] = "Token " + settings.token.get_secret_value()
        elif settings.username is not None:
            password = settings.password.get_secret_value() if settings.password else ""
            auth = httpx.BasicAuth(settings.username, password)
        self._client = httpx.AsyncClient(
            base_url=settings.url, headers=headers, auth=auth, timeout=settings.timeout_s
        )
        self._ready = not settings.create_database
        self._ready_lock = asyncio.Lock()
        self._closed = False

    @classmethod
    async def open(cls, settings: InfluxSettings) -> InfluxStore:
        """A store with its database and retention policy set up, or, when InfluxDB does not
        answer yet, one that sets them up on its first write."""
        store = cls(settings)
        try:
            await store.setup()
        except StoreUnavailable as exc:
            log.warning("InfluxDB not ready, setup deferred to the first write: %s", exc.reason)
        return store

    async def setup(self) -> None:
        """Create the database and the retention policy if this store may (idempotent)."""
        async with self._ready_lock:
            if self._ready:
                return
            try:
                await ensure_database(self._admin, self._select, self.settings)
            except QueryError as exc:  # e.g. a user without the right to create databases
                database = self.settings.database
                raise StoreUnavailable(
                    f"cannot set up database {database!r}: {exc.reason}"
                ) from exc
            self._ready = True

    async def health(self) -> StoreHealth:
        where = f"InfluxDB at {self.settings.url}"
        if self._closed:
            return StoreHealth(False, self.backend, f"{where}: store closed")
        try:
            response = await self._client.get("/ping")
        except httpx.RequestError as exc:
            return StoreHealth(False, self.backend, f"{where}: {_describe(exc)}")
        if response.status_code not in (200, 204):
            return StoreHealth(
                False, self.backend, f"{where}: /ping answered {response.status_code}"
            )
        version = response.headers.get("X-Influxdb-Version", "unknown version")
        return StoreHealth(True, self.backend, f"{where}, {version}")

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            await self._client.aclose()

    # Writes

    async def _write(self, points: Sequence[Point]) -> None:
        if not self._ready:
            await self.setup()
        size = self.settings.max_lines_per_request
        # Pipelined: the next request is encoded (on a thread) while InfluxDB takes the previous
        # one, so neither side waits for the other on a large write.
        posting: asyncio.Task[None] | None = None
        try:
            for first in range(0, len(points), size):
                body = await asyncio.to_thread(self._request_body, points[first : first + size])
                if posting is not None:
                    await posting
                posting = asyncio.create_task(self._post_lines(body))
            if posting is not None:
                await posting
        finally:
            if posting is not None and not posting.done():
                posting.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await posting

    def _request_body(self, points: Sequence[Point]) -> bytes:
        body = encode_lines(points)
        return gzip.compress(body, compresslevel=1) if self.settings.gzip else body

    async def _post_lines(self, body: bytes) -> None:
        """POST a body made by :meth:`_request_body` (gzipped when the settings say so)."""
        params = {"db": self.settings.database, "precision": "ms"}
        if self.settings.retention_policy is not None:
            params["rp"] = self.settings.retention_policy
        headers = {"Content-Type": "text/plain; charset=utf-8"}
        if self.settings.gzip:
            headers["Content-Encoding"] = "gzip"
        response = await self._send("POST", "/write", params=params, content=body, headers=headers)
        if response.status_code == 404 and self.settings.create_database:
            self._ready = False  # dropped behind our back: set up again, then retry once
            await self.setup()
            response = await self._send(
                "POST", "/write", params=params, content=body, headers=headers
            )
        if response.status_code != 204:
            raise _status_error(response, "write", StoreRejected)

    # Queries

    async def _field_types(self, measurement: str) -> dict[str, FieldType]:
        return Q.field_types(await self._select(Q.field_keys(self._source(measurement))))

    async def _latest(self, selection: Selection, types: dict[str, FieldType]) -> list[Latest]:
        src = self._source(selection.measurement)
        names = list(types)
        results = await asyncio.gather(*(self._select(Q.latest(src, selection, f)) for f in names))
        groups: dict[tuple[str, ...], dict[str, Sample]] = {}
        for name, result in zip(names, results, strict=True):
            for series in result.series:
                for time_ms, value in _rows(series):
                    fields = groups.setdefault(selection.group_of(series.tags), {})
                    fields[name] = Sample(time_ms, Q.coerce(value, types[name]))
        return latest_rows(selection.group_by, groups.items())

    async def _aggregate(
        self,
        selection: Selection,
        field: str,
        ftype: FieldType,
        windows: Windows,
        fn: AggregateFn,
    ) -> list[WindowSeries]:
        src = self._source(selection.measurement)
        result = await self._select(Q.aggregate(src, selection, field, windows, fn))
        groups: dict[tuple[str, ...], dict[int, FieldValue]] = {}
        for series in result.series:
            buckets = groups.setdefault(selection.group_of(series.tags), {})
            for start_ms, value in _rows(series):
                buckets[start_ms] = _aggregate_value(value, fn, ftype)
        return window_series(selection.group_by, groups)

    async def _samples(
        self, selection: Selection, field: str, ftype: FieldType, windows: Windows
    ) -> list[SeriesSamples]:
        src = self._source(selection.measurement)
        before, in_range = await asyncio.gather(
            self._select(Q.last_before(src, selection, field, windows)),
            self._select(Q.raw_range(src, selection, field, windows)),
        )
        by_series: dict[tuple[tuple[str, str], ...], SeriesSamples] = {}
        for result in (before, in_range):  # the predecessor first, then the range, per series
            for series in result.series:
                tags = series.present_tags()
                key = tuple(sorted(tags.items()))
                samples = by_series.setdefault(key, SeriesSamples(tags, [])).samples
                samples.extend((t, _number(Q.coerce(v, ftype))) for t, v in _rows(series))
        return list(by_series.values())

    def _source(self, measurement: str) -> str:
        return Q.source(self.settings.retention_policy, measurement)

    # HTTP

    async def _select(self, statement: str) -> Q.StatementResult:
        """Run one read-only statement (GET, as the 2.x compatibility API wants)."""
        params = {"db": self.settings.database, "q": statement, "epoch": "ms"}
        return _statement_result(await self._send("GET", "/query", params=params))

    async def _admin(self, statement: str) -> Q.StatementResult:
        """Run one statement that changes the server (POST, as 1.x requires)."""
        response = await self._send("POST", "/query", data={"q": statement})
        return _statement_result(response)

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        if self._closed:
            raise StoreUnavailable("the InfluxDB store is closed")
        try:
            return await self._client.request(method, path, **kwargs)
        except httpx.RequestError as exc:
            raise StoreUnavailable(f"InfluxDB at {self.settings.url}: {_describe(exc)}") from exc


def _statement_result(response: httpx.Response) -> Q.StatementResult:
    if response.status_code != 200:
        raise _status_error(response, "query", QueryError)
    try:
        decoded = Q.RESPONSE.decode(response.content)
    except msgspec.DecodeError as exc:
        raise StoreUnavailable(f"InfluxDB answered a query with bad JSON: {exc}") from exc
    error = decoded.error or next((r.error for r in decoded.results if r.error), None)
    if error is not None:
        if "database not found" in error:
            raise StoreUnavailable(f"InfluxDB: {error}")
        raise QueryError(f"InfluxDB: {error}")
    result = decoded.results[0] if decoded.results else Q.StatementResult()
    if result.partial:
        raise QueryError("InfluxDB truncated the result (max-row-limit): ask for less")
    return result


def _status_error(
    response: httpx.Response, action: str, refused: type[StoreRejected] | type[QueryError]
) -> StoreError:
    """The error for a non-success answer: the data or query is at fault only for 4xx."""
    detail = _error_text(response)
    reason = f"InfluxDB refused the {action} ({response.status_code}): {detail}"
    if response.status_code in _REJECTED:
        return refused(reason)
    return StoreUnavailable(reason)


def _error_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:_DETAIL_CHARS] or response.reason_phrase
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return str(body["error"])[:_DETAIL_CHARS]
    return response.text[:_DETAIL_CHARS]


def _describe(exc: httpx.RequestError) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _rows(series: Q.SeriesResult) -> list[tuple[int, Any]]:
    """``(time, value)`` of the rows whose value is not null."""
    return [(int(row[0]), row[1]) for row in series.values if row[1] is not None]


def _aggregate_value(value: Any, fn: AggregateFn, ftype: FieldType) -> FieldValue:
    if fn == "mean":
        return float(Q.coerce(value, "float"))
    if fn == "count":
        return int(Q.coerce(value, "integer"))
    return Q.coerce(value, ftype)


def _number(value: FieldValue) -> Number:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise QueryError(f"a counter sample is not a number: {value!r}")
    return value
