"""Limits of wire contract v1, enforced on decode (and, where cheap, on encode).

They bound what one message can cost a receiver: a gateway on a small ARM board, or an ingest worker
serving thousands of gateways. Raising one is a contract change.
"""

from __future__ import annotations

CONTRACT_VERSION = 1

MAX_MESSAGE_BYTES = 256 * 1024
MAX_READINGS_PER_BATCH = 1000
MAX_EVENTS_PER_BATCH = 200
MAX_FIELDS_PER_READING = 64
MAX_TAGS_PER_READING = 16
MAX_SEQS_PER_ACK = 1000
MAX_DEVICES_PER_STATUS = 256
MAX_ARGS_PER_COMMAND = 32

MAX_ID_LENGTH = 63  # gateway, device and command ids, measurement, field and tag names
MAX_TAG_VALUE_LENGTH = 128
MAX_STRING_FIELD_LENGTH = 256
MAX_DETAIL_LENGTH = 1024
MAX_TARGET_LENGTH = 128

# Timestamps are epoch milliseconds, UTC; anything outside these bounds is a broken clock.
MIN_EPOCH_MS = 946_684_800_000  # 2000-01-01T00:00:00Z
MAX_EPOCH_MS = 4_102_444_800_000  # 2100-01-01T00:00:00Z

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
