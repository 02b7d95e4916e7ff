"""Service configuration: one object, read from ``WPS_*`` environment variables, injected everywhere."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

MIB = 1024 * 1024


class Settings(BaseSettings):
    """Everything the service can be told from outside. Defaults serve one machine."""

    model_config = SettingsConfigDict(env_prefix="WPS_", extra="ignore")

    public_url: str = Field(
        "http://127.0.0.1:8000",
        description="Base URL clients see: used in DCP URLs, statusLocation and output hrefs.",
    )
    data_dir: Path = Field(Path("./data"), description="Jobs, results and the job store live here.")
    max_request_bytes: int = Field(100 * MIB, ge=1, description="Cap on one request body.")
    max_input_bytes: int = Field(10 * 1024 * MIB, ge=1, description="Cap on one referenced input.")
    # at most 32: a job's request (a tree that deep) is stored as JSON and read back by pydantic,
    # whose JSON reader gives up near 48 levels of processes
    max_nesting: int = Field(
        16, ge=0, le=32, description="Deepest nesting of processes in one request (0: no nested processes)."
    )
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["*"],
        description="Hosts xlink:href inputs may point to; '*' = any public host. Private, loopback "
        "and link-local addresses are reachable only when their host is listed by name.",
    )
    allowed_input_dirs: Annotated[list[Path], NoDecode] = Field(
        default_factory=list, description="Local directories file: references may read."
    )
    max_parallel: int = Field(
        default_factory=lambda: os.cpu_count() or 1, ge=1, description="Jobs running at once."
    )
    queue_size: int = Field(100, ge=0, description="Jobs waiting beyond max_parallel.")
    result_ttl: int = Field(86400, ge=1, description="Seconds before results are cleaned up.")
    dask_scheduler: str = Field(
        "", description="Address of a dask.distributed scheduler (tcp://host:8786); empty = local pool."
    )
    database_url: str = Field(
        "", description="Job store: empty = SQLite in the data dir; postgresql://... to share jobs."
    )
    instance_name: str = Field(
        "",
        description="This API process's name in the job store (default: host name and public URL port; "
        "a second process of one host on that name runs as host:port/pid).",
    )
    instance_lease: float = Field(
        120.0, gt=0, description="Seconds an instance may stay silent before others fail its jobs."
    )
    output_compression: str = Field(
        "", description="Codec (and level) of raster results, e.g. zstd:1, deflate:6, lzw; empty = default."
    )
    http_timeout: float = Field(30.0, gt=0, description="Seconds to wait on a referenced input.")
    chunk_size: int = Field(2048, ge=256, description="Target raster chunk edge, in pixels.")
    service_title: str = Field("Raster WPS", description="Title in capabilities documents.")
    provider_name: str = Field("Raster WPS operators", description="ServiceProvider name.")
    basemap_url: str = Field(
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        description="XYZ tile URL template of the /map client's basemap; empty = no basemap (offline sites).",
    )
    basemap_attribution: str = Field(
        "© OpenStreetMap contributors", description="Attribution shown under the basemap (plain text)."
    )

    # --- who may do what (any auth_* source configured = authentication required)
    auth_htpasswd: Path | None = Field(
        None, description="An htpasswd file (bcrypt, as `htpasswd -B` writes): HTTP Basic users."
    )
    auth_api_keys: Path | None = Field(
        None, description="A file of `user:sha256-hex-of-key` lines: keys sent as X-API-Key."
    )
    auth_jwks_url: str = Field("", description="OIDC: the issuer's JWKS URL (bearer JWTs).")
    auth_issuer: str = Field("", description="OIDC: the required `iss` of bearer JWTs.")
    auth_audience: str = Field("", description="OIDC: the required `aud` of bearer JWTs.")
    auth_algorithms: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["RS256", "ES256"],
        description="OIDC: the JWT signature algorithms accepted (never 'none', never HMAC).",
    )
    auth_admins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Users who see and dismiss every job."
    )
    auth_max_jobs_per_user: int | None = Field(
        None, ge=1, description="Queued + running jobs one user may hold (unset: unlimited)."
    )
    auth_public: Literal["discovery", "all"] = Field(
        "discovery",
        description="What needs no credentials once auth is configured: discovery (capabilities, "
        "descriptions, landing, conformance, docs, health) or all.",
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Origins allowed by CORS ('*' = any); empty = no CORS headers."
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Addresses of reverse proxies whose X-Forwarded-For/-Proto are believed.",
    )

    # --- logs (app/logs.py)
    log_format: Literal["json", "text"] = Field(
        "json", description="Log lines on stdout: json (one object a line) or text."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field(
        "INFO", description="The least severe level logged (DEBUG, INFO, WARNING, ERROR, CRITICAL)."
    )
    log_file: Path | None = Field(
        None, description="A file the logs also go to, rotated at log_max_bytes (unset: stdout only)."
    )
    log_max_bytes: int = Field(100 * MIB, ge=1, description="Size at which the log file is rotated.")

    @field_validator(
        "allowed_hosts",
        "allowed_input_dirs",
        "auth_algorithms",
        "auth_admins",
        "cors_origins",
        "trusted_proxies",
        mode="before",
    )
    @classmethod
    def _split_comma_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_case_level(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("log_file", mode="before")
    @classmethod
    def _empty_is_no_file(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("public_url")
    @classmethod
    def _strip_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @property
    def auth_configured(self) -> bool:
        """Whether any source of users is configured (then credentials are required)."""
        return bool(self.auth_htpasswd or self.auth_api_keys or self.auth_jwks_url)

    @property
    def outputs_dir(self) -> Path:
        """Where each job's result files live, one folder per job."""
        return self.data_dir / "outputs"

    @property
    def wps_url(self) -> str:
        """The public URL of the WPS endpoint."""
        return f"{self.public_url}/wps"
