"""The transport peer: a plain aiokafka consume->produce loop over the pipeline's hops (one a stage).

``python -m pipeline.measure.bench.rawloop BROKER [FETCH_MAX_WAIT_MS]`` reads news.raw, news.parsed, news.unique, news.normalized
and news.tagged (every partition, from their current end, no consumer group) and forwards each record
(key and value bytes untouched) to the next topic, exactly the hops the no-op pipeline makes. It prints
``ready`` once positioned and runs until SIGTERM.
"""

from __future__ import annotations

import asyncio
import signal
import sys

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from pipeline import topics
from pipeline.kafka.admin import partition_ids
from pipeline.settings import Settings

NEXT = {src: dst for src, dst in topics.STAGE_TOPICS.values()}


async def main(broker: str, fetch_max_wait_ms: int = 500) -> None:
    consumer = AIOKafkaConsumer(bootstrap_servers=broker, enable_auto_commit=False, group_id=None,
                                fetch_max_wait_ms=fetch_max_wait_ms,
                                max_partition_fetch_bytes=8 * 1024 * 1024, fetch_max_bytes=64 * 1024 * 1024)
    producer = AIOKafkaProducer(bootstrap_servers=broker, acks="all", linger_ms=5, max_request_size=8 * 1024 * 1024)
    await consumer.start()
    await producer.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    try:
        settings = Settings(broker=broker)
        tps = [TopicPartition(t, p) for t in NEXT for p in await partition_ids(settings, t)]
        consumer.assign(tps)
        await consumer.seek_to_end(*tps)
        for tp in tps:  # resolve the positions now, before anything is produced
            await consumer.position(tp)
        print("ready", flush=True)
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=200)
            futures = []
            for tp, msgs in batch.items():
                dst = NEXT[tp.topic]
                for m in msgs:
                    futures.append(await producer.send(dst, key=m.key, value=m.value))
            if futures:
                await asyncio.gather(*futures)
    finally:
        await producer.stop()
        await consumer.stop()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 500))
