"""An HTTP request body, read within its deadline and its size limit.

The body must arrive whole within body_timeout_s of the request head (else 408, and the connection is closed: the
rest may still be on its way) and may not exceed max_body_bytes (413 as soon as that is known, never read whole
into memory first). Draining (SIGTERM): a body still uploading gets DRAIN_UPLOAD_GRACE_S more at most, then 503,
so a slow upload does not hold the process. The deadline on the request head lives in the HTTP protocol
(npuport.serve.transport): no app runs before a head is whole.
"""

from __future__ import annotations

import asyncio

from starlette.requests import ClientDisconnect, Request

from npuport.serve.config import Limits, Timeouts
from npuport.serve.request import RequestError, over_limit
from npuport.serve.served import CLOSE

DRAIN_UPLOAD_GRACE_S = 1.0
MAX_LENGTH_DIGITS = 18  # a Content-Length (or a v2 header length) of more digits is over any limit


class BodyReader:
    def __init__(self, limits: Limits, timeouts: Timeouts) -> None:
        self.limits = limits
        self.timeouts = timeouts
        self.draining = False
        self._uploads: set[asyncio.Timeout] = set()  # the deadlines of bodies being read

    def begin_drain(self) -> None:
        """Shutdown began: bodies still on their way get DRAIN_UPLOAD_GRACE_S more at most."""
        self.draining = True
        for deadline in self._uploads:
            _shorten(deadline, DRAIN_UPLOAD_GRACE_S)

    async def read(self, request: Request) -> bytes:
        try:
            return await self._within_deadline(request)
        except ClientDisconnect:
            raise RequestError(400, "client_disconnected", "the client disconnected before sending the whole body") from None

    async def _within_deadline(self, request: Request) -> bytes:
        try:
            async with asyncio.timeout(self.timeouts.body_s) as deadline:
                if self.draining:
                    _shorten(deadline, DRAIN_UPLOAD_GRACE_S)
                self._uploads.add(deadline)
                try:
                    return await self._within_limit(request)
                finally:
                    self._uploads.discard(deadline)
        except TimeoutError:
            if self.draining:
                raise RequestError(503, "shutting_down", "the server is shutting down and the body had not arrived",
                                   headers=CLOSE) from None
            limit = self.timeouts.body_s
            raise RequestError(408, "request_timeout", f"the body did not arrive within {limit:g} s: the limit "
                               f"body_timeout_s is {limit:g}", headers=CLOSE, limit="body_timeout_s", max=limit) from None

    async def _within_limit(self, request: Request) -> bytes:
        limit = self.limits.max_body_bytes
        declared = length_header(request.headers.get("content-length"))
        if declared is not None and declared > limit:
            raise over_limit(f"the body has {declared} bytes", "max_body_bytes", limit)
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise over_limit(f"the body has over {limit} bytes", "max_body_bytes", limit)
            chunks.append(chunk)
        return b"".join(chunks)


def length_header(value: str | None) -> int | None:
    """A header holding a byte count, or None when absent or not one (ASCII digits only: str.isdigit accepts '²',
    which int() refuses; more than MAX_LENGTH_DIGITS digits count as the largest length)."""
    if value is None or not (value.isascii() and value.isdigit()):
        return None
    return int(value) if len(value) <= MAX_LENGTH_DIGITS else 10**MAX_LENGTH_DIGITS


def _shorten(deadline: asyncio.Timeout, seconds: float) -> None:
    soon = asyncio.get_running_loop().time() + seconds
    when = deadline.when()
    if when is None or when > soon:
        deadline.reschedule(soon)
