"""Progress events through Redis, for scans run by workers in other processes or on other machines.

Each event is appended to the scan's list (``RPUSH``: the new length is the event's sequence number)
and published on the scan's channel. A subscriber listens first, then reads the list, then takes live
messages whose sequence number it has not seen: nothing is lost or repeated between the two. Lists
expire a day after a scan's last event.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import redis
import redis.asyncio

from observatory.jobs.events import ProgressEvent

PREFIX = "observatory:scan-events"
#: Seconds the events of a scan are kept after its last one.
KEEP_SECONDS = 24 * 3600
#: A scan publishes about three events per endpoint; beyond this the oldest are dropped from the list.
MAX_EVENTS = 2000


class RedisEventBus:
    def __init__(self, url: str, *, prefix: str = PREFIX) -> None:
        self.url = url
        self.prefix = prefix
        self._client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)

    def _list(self, scan_id: int) -> str:
        return f"{self.prefix}:{scan_id}:list"

    def _channel(self, scan_id: int) -> str:
        return f"{self.prefix}:{scan_id}:live"

    def publish(self, event: ProgressEvent) -> None:
        data = event.model_dump_json()
        pipe = self._client.pipeline()
        pipe.rpush(self._list(event.scan_id), data)
        pipe.ltrim(self._list(event.scan_id), -MAX_EVENTS, -1)
        pipe.expire(self._list(event.scan_id), KEEP_SECONDS)
        sequence = pipe.execute()[0]
        self._client.publish(self._channel(event.scan_id), json.dumps({"seq": sequence, "event": data}))

    def history(self, scan_id: int) -> list[ProgressEvent]:
        return [ProgressEvent.model_validate_json(item) for item in self._client.lrange(self._list(scan_id), 0, -1)]

    async def subscribe(self, scan_id: int) -> AsyncIterator[ProgressEvent]:
        client = redis.asyncio.Redis.from_url(self.url, socket_connect_timeout=5)
        pubsub = client.pubsub()
        try:
            await pubsub.subscribe(self._channel(scan_id))
            stored = await client.lrange(self._list(scan_id), 0, -1)
            seen = len(stored)
            for item in stored:
                event = ProgressEvent.model_validate_json(item)
                yield event
                if event.final:
                    return
            while True:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=None)
                if message is None or message.get("type") != "message":
                    continue
                envelope = json.loads(message["data"])
                if envelope["seq"] <= seen:
                    continue
                seen = envelope["seq"]
                event = ProgressEvent.model_validate_json(envelope["event"])
                yield event
                if event.final:
                    return
        finally:
            await pubsub.aclose()
            await client.aclose()

    def close(self) -> None:
        self._client.close()
