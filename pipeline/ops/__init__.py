"""Operations (issue 21): the pipeline's state from the broker alone (``status``), dead-letter repair (``dlq``),
the webhook alert sink (``alerts``) and the live dashboard (``dashboard``). The worker's own metrics and
health endpoints are in ``pipeline.worker.metrics`` and ``pipeline.worker.http``."""
