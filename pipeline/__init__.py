"""newsflow: a streaming news processing pipeline on Kafka.

Stages (pure functions, in ``pipeline.stages``): parse -> dedup -> normalize -> tag -> enrich.
The Faust agents that move records between topics live in ``pipeline.worker.app``.
"""

__version__ = "0.1.0"
