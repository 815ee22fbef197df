"""Every Kafka topic newsflow reads or writes, in one place.

Each stage reads its own input topic and writes the next, so any stage can be scaled, replayed and
inspected on its own::

    news.raw -> parse -> news.parsed -> dedup -> news.unique -> normalize -> news.normalized
      -> tag -> news.tagged -> enrich -> news.unclustered -> stories -> news.enriched
    (dedup also writes news.duplicates; stories also writes news.stories, one record a story update;
    every stage writes news.dlq for what it cannot process)
"""

RAW = "news.raw"
PARSED = "news.parsed"
UNIQUE = "news.unique"
NORMALIZED = "news.normalized"
TAGGED = "news.tagged"
UNCLUSTERED = "news.unclustered"
STORIES = "news.stories"
ENRICHED = "news.enriched"
DUPLICATES = "news.duplicates"
DLQ = "news.dlq"

#: stage name -> (input topic, output topic)
STAGE_TOPICS: dict[str, tuple[str, str]] = {
    "parse": (RAW, PARSED),
    "dedup": (PARSED, UNIQUE),
    "normalize": (UNIQUE, NORMALIZED),
    "tag": (NORMALIZED, TAGGED),
    "enrich": (TAGGED, UNCLUSTERED),
    "stories": (UNCLUSTERED, ENRICHED),
}

STAGES: tuple[str, ...] = tuple(STAGE_TOPICS)

#: the three topics where every input ends, exactly once
TERMINAL = (ENRICHED, DUPLICATES, DLQ)

ALL_TOPICS: tuple[str, ...] = (RAW, PARSED, UNIQUE, NORMALIZED, TAGGED, UNCLUSTERED, ENRICHED, DUPLICATES, DLQ,
                               STORIES)
