"""The cloud's API as provisioning sees it: is it there, enrol, and what time it is over there.

Plain HTTP(S) with the standard library (the edge extra carries no HTTP client; ``edge`` never
imports ``cloud``). Calls block: run them with :func:`asyncio.to_thread` from a coroutine. The
enrolment token and the MQTT password are never logged and never part of an error message.

Clock offset is ``server time − local time at the middle of the request``, so its uncertainty is
half the round trip; from an HTTP ``Date`` header (whole seconds) one more second.
"""

from __future__ import annotations

import email.utils
import json
import logging
import ssl
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from http.client import HTTPException
from typing import Any, Literal

from edge.errors import (
    CloudUnreachable,
    EnrolRefused,
    NotAnEclorApi,
    RateLimited,
)

log = logging.getLogger(__name__)
ENROL_PATH = "/api/v1/enrol"
HEALTH_PATH = "/healthz"
TIMEOUT_S = 15.0
_MAX_BODY = 64 * 1024


@dataclass(frozen=True)
class ClockCheck:
    offset_s: float
    """Cloud time minus local time: positive when the gateway is behind."""
    uncertainty_s: float
    source: Literal["server_time", "date_header"]


@dataclass(frozen=True)
class MqttAccess:
    host: str
    port: int
    username: str
    password: str = field(repr=False)
    tls: bool
    protocol: Literal["5", "3.1.1"]


@dataclass(frozen=True)
class Enrolled:
    gateway_id: str
    mqtt: MqttAccess
    clock: ClockCheck | None


@dataclass(frozen=True)
class _Answer:
    status: int
    headers: Message
    body: bytes
    sent_at: float
    """Local wall time (epoch seconds) at the middle of the exchange."""
    round_trip_s: float


def check_api(api_url: str, ssl_context: ssl.SSLContext | None = None) -> ClockCheck | None:
    """Make sure ``api_url`` is the Eclor API (``GET /healthz``); return the clock comparison.

    A 503 (store or registry unhealthy) still counts as "it is there": enrolment may work."""
    answer = _exchange("GET", api_url + HEALTH_PATH, None, ssl_context)
    doc = _json(answer, api_url + HEALTH_PATH)
    if answer.status not in (200, 503) or "status" not in doc:
        raise NotAnEclorApi(api_url, answer.status, f"no health document at {HEALTH_PATH}")
    if answer.status == 503:
        log.warning("the cloud reports itself unhealthy: %s", doc.get("detail", "?"))
    return _clock(answer, doc.get("checked_at"))


def enrol(
    api_url: str, token: str, gateway_id: str, ssl_context: ssl.SSLContext | None = None
) -> Enrolled:
    """``POST /api/v1/enrol``: the gateway's MQTT access, or the cloud's reason for no."""
    url = api_url + ENROL_PATH
    body = json.dumps({"token": token, "gateway_id": gateway_id}).encode()
    answer = _exchange("POST", url, body, ssl_context)
    doc = _json(answer, url)
    if answer.status == 201:
        return _enrolled(doc, answer, url)
    detail = str(doc.get("detail") or doc.get("title") or "no detail")
    if answer.status == 429:
        raise RateLimited(_retry_after(answer.headers), detail)
    if answer.status >= 400 and "title" in doc and answer.status != 404:
        raise EnrolRefused(answer.status, str(doc["title"]), detail)
    raise NotAnEclorApi(api_url, answer.status, f"unexpected answer to POST {ENROL_PATH}")


def _enrolled(doc: dict[str, Any], answer: _Answer, url: str) -> Enrolled:
    try:
        mqtt = doc["mqtt"]
        access = MqttAccess(
            host=str(mqtt["host"]),
            port=int(mqtt["port"]),
            username=str(mqtt["username"]),
            password=str(mqtt["password"]),
            tls=bool(mqtt.get("tls", False)),
            protocol="3.1.1" if str(mqtt.get("protocol", "5")) in ("3.1.1", "4") else "5",
        )
        gateway_id = str(doc["gateway_id"])
    except (KeyError, TypeError, ValueError) as exc:
        raise NotAnEclorApi(url, answer.status, f"enrolment answer without {exc}") from None
    return Enrolled(gateway_id, access, _clock(answer, doc.get("server_time")))


def _exchange(
    method: str, url: str, body: bytes | None, ssl_context: ssl.SSLContext | None
) -> _Answer:
    request = urllib.request.Request(url, data=body, method=method)
    request.add_header("Accept", "application/json, application/problem+json")
    if body is not None:
        request.add_header("Content-Type", "application/json")
    started, wall = time.monotonic(), time.time()
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S, context=ssl_context) as response:
            status, headers, data = response.status, response.headers, response.read(_MAX_BODY)
    except urllib.error.HTTPError as exc:
        status, headers, data = exc.code, exc.headers, exc.read(_MAX_BODY)
    except urllib.error.URLError as exc:
        raise CloudUnreachable(url, _reason(exc.reason)) from None
    except (OSError, HTTPException, ValueError) as exc:
        raise CloudUnreachable(url, _reason(exc)) from None
    round_trip = time.monotonic() - started
    return _Answer(status, headers, data, wall + round_trip / 2, round_trip)


def _reason(reason: object) -> str:
    if isinstance(reason, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted ({reason.verify_message})"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused (nothing listens there)"
    if isinstance(reason, TimeoutError):
        return f"no answer within {TIMEOUT_S:.0f} s"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return str(reason) or type(reason).__name__


def _json(answer: _Answer, url: str) -> dict[str, Any]:
    kind = answer.headers.get_content_type()
    if not kind.endswith("json"):
        raise NotAnEclorApi(url, answer.status, f"answered {kind}, not JSON")
    try:
        doc = json.loads(answer.body)
    except ValueError:
        raise NotAnEclorApi(url, answer.status, "answered malformed JSON") from None
    if not isinstance(doc, dict):
        raise NotAnEclorApi(url, answer.status, "answered JSON that is not an object")
    return doc


def _clock(answer: _Answer, server_time: object) -> ClockCheck | None:
    half = answer.round_trip_s / 2
    if isinstance(server_time, str):
        try:
            server = datetime.fromisoformat(server_time.replace("Z", "+00:00"))
        except ValueError:
            server = None
        if server is not None and server.tzinfo is not None:
            return ClockCheck(server.timestamp() - answer.sent_at, half, "server_time")
    date = answer.headers.get("Date")
    if date:
        try:
            stamp = email.utils.parsedate_to_datetime(date)
        except (TypeError, ValueError):
            return None
        # the header truncates to the second: on average half a second behind
        offset = stamp.replace(tzinfo=stamp.tzinfo or UTC).timestamp() + 0.5 - answer.sent_at
        return ClockCheck(offset, half + 0.5, "date_header")
    return None


def _retry_after(headers: Message) -> float | None:
    value = headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
