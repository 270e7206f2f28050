"""Model endpoints for real runs, read from a TOML file.

Floor 1 of the runner. A config names each model once: where it is served (one base URL or
several replicas), the model id to send, which API (chat or plain completions), the NAME of the
environment variable holding its API key, its price and its limits. The key itself is never
read here: the client looks it up in ``os.environ`` at request time, so no config object, repr,
record or error can contain it.

Example file (see ``experiments/models.example.toml``)::

    [runner]
    max_concurrency = 16

    [models.smollm2]
    base_url = "http://127.0.0.1:8003"
    model = "smollm2"
    api = "chat"
    max_choices_per_call = 4

    [models.remote]
    base_urls = ["https://a.example/v1", "https://b.example/v1"]
    model = "vendor/model-8b"
    api_key_env = "VENDOR_API_KEY"
    price = { prompt_per_1k = 0.0002, completion_per_1k = 0.0006 }
    max_concurrency = 8
    rpm = 600
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from slmmux_run.errors import UserError
from slmmux_run.sampling.spending import Price

__all__ = [
    "APIS", "ModelConfig", "RunnerConfig", "load_config", "looks_like_variable_name",
    "parse_config",
]

APIS = ("chat", "completions")

_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,99}")
_TOKEN_PREFIXES = re.compile(
    r"(hf_|gh[pousr]_|github_pat_|npm_|[spr]k_(live|test)_|AKIA[0-9A-Z]{12}|ASIA[0-9A-Z]{12})"
)
_RANDOM_LOOKING = re.compile(r"(?=[A-Za-z0-9]*[0-9])(?=[A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]{16,}")


def looks_like_variable_name(name: object) -> bool:
    """Whether ``name`` looks like an environment variable's NAME rather than a pasted key.

    A name is ASCII letters, digits and ``_`` (not starting with a digit, at most 100
    characters), does not start like a known token (``hf_``, ``ghp_``, ``github_pat_``,
    ``sk_live_``, ``AKIA...``) and has no random-looking run of 16+ letters and digits.

    >>> [looks_like_variable_name(n) for n in ("VENDOR_API_KEY", "my_key", "HF_TOKEN")]
    [True, True, True]
    >>> [looks_like_variable_name(n) for n in ("sk-abc123", "hf_AbCdEfGhIjKlMnOpQrStUvWxYz012345",
    ...                                        "ghp_0123456789abcdefABCDEF0123456789ab", "")]
    [False, False, False, False]
    """
    if not isinstance(name, str) or not _VARIABLE_NAME.fullmatch(name):
        return False
    if _TOKEN_PREFIXES.match(name):
        return False
    return not any(_RANDOM_LOOKING.fullmatch(part) for part in name.split("_"))


@dataclass(frozen=True)
class ModelConfig:
    """One model endpoint (possibly replicated).

    Attributes:
      name: the name runs and records use for this model.
      base_urls: one or more replica URLs, e.g. ``("http://127.0.0.1:8003",)``; a trailing
        ``/v1`` is optional.
      model: the model id sent in the request body.
      api: ``"chat"`` (``/v1/chat/completions``) or ``"completions"`` (``/v1/completions``).
      api_key_env: name of the environment variable holding the key, or None for no key.
      price: what a request costs.
      max_concurrency: requests in flight per replica.
      rpm: requests per minute per replica, or None for no limit.
      max_choices_per_call: most choices (``n``) one request may ask for; 1 never sends ``n``.
      headers: extra, non-secret HTTP headers.
    """

    name: str
    base_urls: tuple[str, ...]
    model: str
    api: str = "chat"
    api_key_env: str | None = None
    price: Price = field(default_factory=Price)
    max_concurrency: int = 4
    rpm: int | None = None
    max_choices_per_call: int = 1
    headers: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        # Built by hand (not from a file), a pasted key must not reach a repr or an error either.
        if self.api_key_env is not None and not looks_like_variable_name(self.api_key_env):
            raise UserError(f"api_key_env of model {self.name!r} {_NOT_A_NAME}")


@dataclass(frozen=True)
class RunnerConfig:
    """Everything the client needs.

    Attributes:
      models: model configs by name.
      max_concurrency: requests in flight over all models.
      max_attempts: tries per HTTP request, first one included.
      timeout_seconds: per-request timeout.
      backoff_initial_seconds: first backoff wait (doubles, with full jitter).
      backoff_max_seconds: longest backoff wait; also caps a server's Retry-After.
    """

    models: Mapping[str, ModelConfig]
    max_concurrency: int = 16
    max_attempts: int = 5
    timeout_seconds: float = 120.0
    backoff_initial_seconds: float = 0.5
    backoff_max_seconds: float = 30.0

    def model(self, name: str) -> ModelConfig:
        """The config of one model, or a UserError naming the unknown model."""
        try:
            return self.models[name]
        except KeyError:
            known = ", ".join(sorted(self.models)) or "none"
            raise UserError(f"model {name!r} is not in the config (known: {known})") from None


_MODEL_KEYS = {
    "base_url", "base_urls", "model", "api", "api_key_env", "price", "max_concurrency", "rpm",
    "max_choices_per_call", "headers",
}
_RUNNER_KEYS = {
    "max_concurrency", "max_attempts", "timeout_seconds", "backoff_initial_seconds",
    "backoff_max_seconds",
}
_PRICE_KEYS = {"prompt_per_1k", "completion_per_1k", "per_call"}


_NOT_A_NAME = (
    "does not look like the NAME of an environment variable (its value is not shown: it may be "
    "a key); put the key in an environment variable and give that variable's name, e.g. "
    "api_key_env = \"VENDOR_API_KEY\""
)


def _check(condition: bool, source: str, where: str, message: str) -> None:
    if not condition:
        raise UserError(f"{source}: field {where} {message}")


def _number(value: Any, source: str, where: str, *, integer: bool, minimum: float) -> Any:
    kinds = (int,) if integer else (int, float)
    # TOML spells inf and nan: a NaN price or an infinite timeout would disable a check.
    _check(
        isinstance(value, kinds) and not isinstance(value, bool) and math.isfinite(value)
        and value >= minimum,
        source,
        where,
        f"must be {'an integer' if integer else 'a finite number'} >= {minimum}, got {value!r}",
    )
    return value


def _model(name: str, table: Any, source: str) -> ModelConfig:
    where = f"models.{name}"
    _check(isinstance(table, dict), source, where, "must be a table")
    unknown = sorted(set(table) - _MODEL_KEYS)
    _check(not unknown, source, f"{where}.{unknown[0] if unknown else ''}", "is not a known key")
    _check(
        ("base_url" in table) != ("base_urls" in table),
        source,
        f"{where}.base_url",
        "or base_urls must be given (exactly one of them)",
    )
    urls = [table["base_url"]] if "base_url" in table else table["base_urls"]
    _check(
        isinstance(urls, list) and len(urls) > 0 and all(isinstance(u, str) and u for u in urls),
        source,
        f"{where}.base_urls",
        "must be a non-empty list of URLs",
    )
    _check(isinstance(table.get("model"), str), source, f"{where}.model", "must be a string")
    api = table.get("api", "chat")
    _check(api in APIS, source, f"{where}.api", f"must be one of {APIS}, got {api!r}")
    key_env = table.get("api_key_env")
    _check(
        key_env is None or looks_like_variable_name(key_env),
        source,
        f"{where}.api_key_env",
        _NOT_A_NAME,
    )
    price_table = table.get("price", {})
    _check(isinstance(price_table, dict), source, f"{where}.price", "must be a table")
    unknown = sorted(set(price_table) - _PRICE_KEYS)
    _check(not unknown, source, f"{where}.price.{unknown[0] if unknown else ''}", "is not a key")
    price = Price(
        **{
            key: float(_number(v, source, f"{where}.price.{key}", integer=False, minimum=0))
            for key, v in price_table.items()
        }
    )
    rpm = table.get("rpm")
    headers = table.get("headers", {})
    _check(
        isinstance(headers, dict) and all(isinstance(v, str) for v in headers.values()),
        source,
        f"{where}.headers",
        "must be a table of strings",
    )
    return ModelConfig(
        name=name,
        base_urls=tuple(u.rstrip("/") for u in urls),
        model=table["model"],
        api=api,
        api_key_env=key_env,
        price=price,
        max_concurrency=_number(
            table.get("max_concurrency", 4), source, f"{where}.max_concurrency",
            integer=True, minimum=1,
        ),
        rpm=None if rpm is None else _number(rpm, source, f"{where}.rpm", integer=True, minimum=1),
        max_choices_per_call=_number(
            table.get("max_choices_per_call", 1), source, f"{where}.max_choices_per_call",
            integer=True, minimum=1,
        ),
        headers=tuple(sorted(headers.items())),
    )


def parse_config(data: Mapping[str, Any], source: str = "<config>") -> RunnerConfig:
    """Build a :class:`RunnerConfig` from parsed TOML.

    Args:
      data: the parsed TOML document.
      source: file name used in error messages.

    Raises:
      UserError: naming the file and the field at fault.

    >>> config = parse_config({"models": {"m": {"base_url": "http://127.0.0.1:8003/", "model": "x"}}})
    >>> config.model("m").base_urls
    ('http://127.0.0.1:8003',)
    """
    unknown = sorted(set(data) - {"runner", "models"})
    _check(not unknown, source, unknown[0] if unknown else "", "is not a known table")
    runner = data.get("runner", {})
    _check(isinstance(runner, dict), source, "runner", "must be a table")
    unknown = sorted(set(runner) - _RUNNER_KEYS)
    _check(not unknown, source, f"runner.{unknown[0] if unknown else ''}", "is not a known key")
    models_table = data.get("models", {})
    _check(isinstance(models_table, dict) and models_table, source, "models", "must name a model")
    models = {name: _model(name, table, source) for name, table in models_table.items()}
    kwargs: dict[str, Any] = {}
    for key in ("max_concurrency", "max_attempts"):
        if key in runner:
            kwargs[key] = _number(runner[key], source, f"runner.{key}", integer=True, minimum=1)
    for key in ("timeout_seconds", "backoff_initial_seconds", "backoff_max_seconds"):
        if key in runner:
            kwargs[key] = float(
                _number(runner[key], source, f"runner.{key}", integer=False, minimum=0)
            )
    return RunnerConfig(models=models, **kwargs)


def load_config(path: str | os.PathLike) -> RunnerConfig:
    """Read a TOML model config.

    Raises:
      UserError: if the file is missing, is not TOML, or has a bad field.
    """
    path = Path(path)
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise UserError(f"model config {path} does not exist") from None
    except tomllib.TOMLDecodeError as error:
        raise UserError(f"model config {path} is not valid TOML: {error}") from None
    except UnicodeDecodeError as error:
        raise UserError(f"model config {path} is not UTF-8 text ({error.reason} at byte "
                        f"{error.start})") from None
    except OSError as error:  # a folder, no permission, a path under a regular file
        reason = error.strerror or type(error).__name__
        raise UserError(f"model config {path} cannot be read ({reason})") from None
    return parse_config(data, str(path))
