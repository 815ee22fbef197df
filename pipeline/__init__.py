"""newsflow: a streaming news processing pipeline on Kafka.

Stages (pure functions, ``pipeline.stages``): parse -> dedup -> normalize -> tag -> enrich, run by one
stage chain (``pipeline.stages.chain``). The worker (``pipeline.worker``) is a Faust app whose agents move
records between the topics (``pipeline.topics``); README "Code layout" names every package.
"""

__version__ = "0.1.0"
