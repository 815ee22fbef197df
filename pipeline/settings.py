"""Settings: command-line flags > environment (``NEWSFLOW_*``) > TOML file > defaults, validated.

The file is ``newsflow.toml`` in the working directory, or the path in ``NEWSFLOW_CONFIG`` /
``--config``. Every key of the file has the same name as the field below; every environment
variable is the field's name in capitals with the prefix ``NEWSFLOW_`` (``NEWSFLOW_BROKER``).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

from pipeline.errors import ConfigError

DEFAULT_CONFIG_FILE = "newsflow.toml"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NEWSFLOW_", extra="forbid", validate_default=True)

    # The fields are flat on purpose: each one is a TOML key, an environment variable and often a flag of
    # the same name, which users already have in their files. They are grouped below by what they set.

    # --- broker: where the Kafka cluster is and how every client talks to it -----------------------
    broker: str | None = Field(
        default=None,
        description="Kafka bootstrap servers, host:port[,host:port]. Unset: start the embedded broker (run only).",
    )
    local_broker: Literal["auto", "kafka", "embedded"] = Field(
        default="auto",
        description="The broker `newsflow run` starts when none is configured: `kafka` (a local Apache Kafka, "
        "durable, pipeline/brokers/kafka.py), `embedded` (Tansu, memory-only, starts in milliseconds) or `auto` "
        "(Kafka where Java 17+ is installed, else embedded). README \"Embedded broker\".",
    )
    local_kafka_nodes: Literal[1, 3] = Field(default=1, description="Nodes of the local Kafka `run` starts.")
    embedded_broker: bool = Field(
        default=False,
        description="The broker is newsflow's embedded one (Tansu, pipeline/brokers/embedded.py): its workarounds "
        "are switched on for every setting not given explicitly (EMBEDDED_PROFILE there: short group timeouts, one "
        "record per produce batch, a short fetch wait, the topic watch). `newsflow run` sets it when it starts that "
        "broker; a worker pointed at a Kafka cluster leaves it off and runs with Kafka's defaults.",
    )
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "PLAIN"
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: Path | None = None
    processing_guarantee: Literal["at_least_once", "exactly_once"] = Field(
        default="at_least_once", description="exactly_once needs real Kafka (idempotent producer)."
    )
    replication_factor: int | None = Field(
        default=None, ge=1, le=16,
        description="Replicas of the topics newsflow creates; unset: 3, or the number of brokers if fewer.",
    )
    reconnect_timeout_s: float = Field(
        default=30.0, gt=0, description="How long a client retries a broker it cannot reach (one line every 5 s) "
        "before it gives up: at start, and under tail, the sinks and consume()."
    )
    # Kafka's defaults in production; the embedded broker and the tests use short ones (BROKER.md).
    session_timeout_s: float = Field(default=60.0, gt=0)
    rebalance_timeout_s: float = Field(default=60.0, gt=0)
    heartbeat_interval_s: float = Field(default=3.0, gt=0)
    producer_max_batch_bytes: int = Field(
        default=262144, ge=1,
        description="Producer batch size per partition, 256 KiB (Kafka's 16 KiB default holds only 2-4 articles "
                    "of 3-8 KB, so every produce request carried a few records; issue 22). The embedded broker needs 1 (one record a batch): Tansu "
                    "answers a partition's end offset as the last batch's first offset + 1, so a table recovering "
                    "from its changelog would stop before the last records of a multi-record batch.",
    )
    # issue 22 (performance on Kafka): the worker's producer and stream buffers, README "Benchmark", "Transport
    # settings". acks=all is fixed (not a setting): a record counts as written once every in-sync replica has it.
    producer_linger_ms: int = Field(
        default=5, ge=0, le=1000,
        description="How long the worker's producer waits for more records to fill a batch (Kafka 4's default 5 ms; "
        "Faust's own is 0: one request per record while the previous one is in flight).",
    )
    producer_compression: Literal["none", "gzip", "lz4", "zstd", "snappy"] = Field(
        default="none", description="Compression of the worker's produce batches (none: CPU is what a worker lacks; "
        "lz4/zstd/snappy need their Python packages).",
    )
    consumer_max_poll_records: int | None = Field(
        default=None, ge=1, le=100_000,
        description="Most records one fetch hands to the worker's streams (unset: everything fetched).",
    )
    stream_buffer_maxsize: int = Field(
        default=4096, ge=1, le=1_000_000,
        description="Records a stream may buffer before its partitions are paused (Faust's 4096).",
    )
    commit_interval_s: float = Field(
        default=2.8, gt=0, le=600,
        description="How often the worker commits its offsets (with exactly_once: closes its transactions). Faust's 2.8 s.",
    )
    # issue 9 (benchmark): Faust hard-codes 1500 ms; the embedded broker (Tansu) does not answer a waiting
    # fetch as soon as a record arrives, so on it every hop can wait a large part of this (README "Benchmark").
    fetch_max_wait_ms: int | None = Field(
        default=None, ge=1, le=60_000,
        description="Longest time the broker may hold a worker's fetch request; unset: Faust's own 1500 ms.",
    )
    topic_check_interval_s: float = Field(
        default=0.0, ge=0,
        description="How often the worker checks that its topics exist, re-creates missing ones and rewinds after a "
        "broker lost its data (the memory-only embedded broker after a restart; pipeline/brokers/embedded_recovery.py); "
        "0 (the default on Kafka, which keeps its data) disables it. 10 s on the embedded broker.",
    )

    # --- worker: the Faust app, its topics and its state ------------------------------------------
    app_id: str = Field(default="newsflow", description="Faust app id: consumer group and changelog prefix.")
    partitions: int = Field(default=4, ge=1, le=1024, description="Partitions of the topics newsflow creates.")
    stages: list[str] = Field(
        default_factory=lambda: ["parse", "dedup", "normalize", "tag", "enrich", "stories"],
        description="Stages this worker runs.",
    )
    store: str = Field(default="memory://", description="Faust table store: memory:// or rocksdb://")
    data_dir: Path = Field(default=Path(".newsflow"), description="Worker state (tables, logs).")
    web_enabled: bool = False
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=6066, ge=0, le=65535)
    ingest_token: SecretStr | None = Field(default=None, description="Bearer token POST /articles requires (unset: none).")
    log_level: str = "WARNING"
    log_format: Literal["text", "json"] = Field(
        default="text", description="Worker log lines: text, or json (one object a line, with stage, article id "
        "and origin on every record-level line).")

    # --- stages: limits and what each stage does -------------------------------------------------
    max_payload_bytes: int = Field(default=2_000_000, ge=1, description="Largest raw input accepted.")
    min_body_words: int = Field(default=5, ge=0, description="Fewest words of body text an article has (fewer: news.dlq).")
    dedup_window_days: float = Field(default=7.0, gt=0, description="Near-copies: how far apart in event time (and how long after arrival they are indexed).")
    dedup_retention_days: float = Field(
        default=90.0, gt=0, description="Dedup decisions and exact fingerprints: kept this long after arrival.")
    story_threshold: float = Field(default=0.3, gt=0, description="Similarity an article needs to join a story (stories stage).")
    story_window_days: float = Field(default=3.0, gt=0, description="A story stays open this long after its latest article (event time).")
    stories_sweep_interval_s: float = Field(default=60.0, gt=0, description="How often the worker expires old stories.")
    near_duplicate_threshold: float = Field(
        default=0.5, gt=0, le=1, description="Near-duplicate: Jaccard of word 3-shingles (counted on the texts) at least this.")
    near_containment_threshold: float = Field(
        default=0.8, gt=0, le=1,
        description="Near-duplicate also: share of the shorter text's word 3-shingles found in the other at least this.")
    cluster_threshold: float = Field(
        default=0.4, gt=0, le=1, description="Same story cluster: estimated Jaccard of key terms at least this.")
    dedup_sweep_interval_s: float = Field(default=60.0, gt=0, description="How often the worker expires old index keys.")
    custom_words: list[str] = Field(default_factory=list, description="Words the typo fixer must accept as right.")
    custom_words_file: Path | None = Field(
        default=None, description="File of more such words (names in the news, outlets), one a line, # comments."
    )
    tag_batch_size: int = Field(default=32, ge=1, le=4096)
    tag_batch_wait_s: float = Field(default=0.05, ge=0)
    tag_in_process: bool = Field(default=True, description="Run the NER model in child processes (own GIL), "
                                 "so heartbeats never wait on it (issue #5).")
    tag_processes: int = Field(default=2, ge=1, le=64, description="Child processes running the NER model "
                               "(with tag_in_process); a batch is split across them. The rest of the worker "
                               "needs about a quarter of a core, the model the rest.")
    spacy_model: str = Field(default="", description="spaCy model package or path; empty: newsflow's default.")
    # issue #6: enrichers
    enrichers: list[str] | None = Field(
        default=None, description="Enrichers to run (comma-separated), in registry order; unset: all of them."
    )

    # --- sinks (issue 7) ---------------------------------------------------------------------------
    postgres_dsn: SecretStr | None = Field(default=None, description="PostgreSQL DSN of `newsflow sink postgres` "
                                           "(it may hold a password, so it is never printed).")
    postgres_table: str = Field(default="articles", pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,62}$",
                                description="Table the PostgreSQL sink writes.")

    # --- test and benchmark hooks: never set in production ----------------------------------------
    noop: bool = Field(
        default=False,
        description="Benchmark/diagnostic mode: every agent forwards its input record unchanged (no decode, "
        "no stage, no encode) along the same topics, so only Kafka and Faust are measured. Never in production.",
    )
    fault_inject: str = Field(
        default="", description="Tests only: 'stage:marker,...' makes that stage's agent raise on articles "
        "containing the marker (pipeline/worker/faults.py).",
    )

    @field_validator("stages", "custom_words", "enrichers", mode="before")
    @classmethod
    def _split_csv(cls, v: Any) -> Any:
        if isinstance(v, str):
            return [s.strip() for s in v.split(",") if s.strip()]
        return v

    @field_validator("enrichers")
    @classmethod
    def _known_enrichers(cls, v: list[str] | None) -> list[str] | None:
        from pipeline.stages.enrich import REGISTRY

        return v if v is None else _known("enricher", v, REGISTRY)

    @field_validator("stages")
    @classmethod
    def _known_stages(cls, v: list[str]) -> list[str]:
        from pipeline.topics import STAGES

        return _known("stage", v, STAGES)

    @field_validator("log_level")
    @classmethod
    def _log_level_name(cls, v: str) -> str:
        if v.strip().upper() not in LOG_LEVELS:
            raise ValueError(f"log level {v!r} is not one of {', '.join(LOG_LEVELS)}")
        return v.strip().upper()

    @field_validator("store")
    @classmethod
    def _store_url(cls, v: str) -> str:
        scheme = v.partition("://")[0].lower()
        if "://" not in v or scheme not in ("memory", "rocksdb"):
            raise ValueError(f"table store {v!r} is not memory:// or rocksdb://")
        return v

    def check_store(self) -> None:
        """ConfigError when the table store cannot be opened here (rocksdb:// without its extra). Checked by the
        worker that opens it, not by every command: a compose file may name a store only its image has."""
        if self.store.lower().startswith("rocksdb://"):
            import importlib.util

            if importlib.util.find_spec("rocksdict") is None:
                raise ConfigError("store rocksdb:// needs the rocksdb extra: pip install 'newsflow[rocksdb]'")

    @field_validator("broker")
    @classmethod
    def _broker_form(cls, v: str | None) -> str | None:
        if v is None or not v.strip():
            return None
        v = v.strip().removeprefix("kafka://")
        for part in v.split(","):
            host, _, port = part.strip().rpartition(":")
            if not host or not port.isdigit():
                raise ValueError(f"broker address {part!r} is not host:port")
        return v

    @model_validator(mode="after")
    def _embedded_profile(self) -> "Settings":
        """On the embedded broker, its profile fills every setting that was not given explicitly."""
        if self.embedded_broker:
            from pipeline.brokers.embedded import EMBEDDED_PROFILE

            for name, value in EMBEDDED_PROFILE.items():
                if name not in self.model_fields_set:
                    self.__dict__[name] = value  # a default, not a choice: model_fields_set stays as given
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = os.environ.get("NEWSFLOW_CONFIG") or DEFAULT_CONFIG_FILE
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if Path(path).is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    @property
    def bootstrap_servers(self) -> list[str]:
        if not self.broker:
            raise ConfigError("no broker configured: pass --broker HOST:PORT or set NEWSFLOW_BROKER")
        return [s.strip() for s in self.broker.split(",")]

    def kafka_client_kwargs(self) -> dict[str, Any]:
        """Connection arguments shared by every aiokafka client newsflow makes."""
        kw: dict[str, Any] = {"bootstrap_servers": self.bootstrap_servers, "security_protocol": self.security_protocol}
        if self.security_protocol.startswith("SASL"):
            kw.update(
                sasl_mechanism=self.sasl_mechanism,
                sasl_plain_username=self.sasl_username,
                sasl_plain_password=self.sasl_password.get_secret_value() if self.sasl_password else None,
            )
        if self.security_protocol.endswith("SSL"):
            from aiokafka.helpers import create_ssl_context

            kw["ssl_context"] = create_ssl_context(cafile=str(self.ssl_cafile) if self.ssl_cafile else None)
        return kw


#: the logging levels --log-level / log_level accepts
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
#: NEWSFLOW_* variables that are not settings: the settings file, and the test suites' own knobs
OTHER_ENV = ("NEWSFLOW_CONFIG",)
OTHER_ENV_PREFIXES = ("NEWSFLOW_TEST_", "NEWSFLOW_CHAOS_")


def unknown_env(environ: Any = os.environ) -> list[str]:
    """``NEWSFLOW_*`` variables that name no setting (a typo such as NEWSFLOW_PARTITONS)."""
    names = {f"NEWSFLOW_{f.upper()}" for f in Settings.model_fields}
    return sorted(k for k in environ if k.upper().startswith("NEWSFLOW_") and k.upper() not in names
                  and k.upper() not in OTHER_ENV and not k.upper().startswith(OTHER_ENV_PREFIXES))


def _known(kind: str, given: list[str], known) -> list[str]:
    unknown = [s for s in given if s not in known]
    if unknown:
        raise ValueError(f"unknown {kind}(s) {', '.join(unknown)}; known: {', '.join(known)}")
    return given


def load_settings(config_file: str | Path | None = None, **overrides: Any) -> Settings:
    """Build the settings, turning validation errors into one readable ``ConfigError``."""
    if config_file is not None:
        if not Path(config_file).is_file():
            raise ConfigError(f"config file {config_file} does not exist")
        os.environ["NEWSFLOW_CONFIG"] = str(config_file)
    if unknown := unknown_env():
        raise ConfigError(f"unknown environment variable(s) {', '.join(unknown)}: no such setting (the settings are "
                          "listed in pipeline/settings.py)")
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {os.environ.get('NEWSFLOW_CONFIG') or DEFAULT_CONFIG_FILE} is not valid "
                          f"TOML: {exc}") from None
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"invalid settings: {problems}") from None
