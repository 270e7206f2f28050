"""Tests of slmmux_run.sampling.config: TOML parsing, validation messages, no secrets in reprs."""

from __future__ import annotations

from pathlib import Path

import pytest

from slmmux_run.sampling.config import ModelConfig, load_config, parse_config
from slmmux_run.errors import UserError
from slmmux_run.sampling.spending import Price

EXAMPLE = Path(__file__).resolve().parents[3] / "experiments" / "models.example.toml"


def test_example_config_loads():
    config = load_config(EXAMPLE)
    assert sorted(config.models) == ["gemma3", "remote-8b", "smollm2"]
    remote = config.model("remote-8b")
    assert remote.base_urls == ("https://api-a.example.com/v1", "https://api-b.example.com/v1")
    assert remote.price == Price(prompt_per_1k=0.0002, completion_per_1k=0.0006, per_call=0.0)
    assert (remote.rpm, remote.max_concurrency, remote.api_key_env) == (600, 8, "EXAMPLE_API_KEY")
    assert config.model("gemma3").api == "completions"
    assert config.model("smollm2").max_choices_per_call == 4
    assert (config.max_concurrency, config.max_attempts, config.timeout_seconds) == (16, 5, 120.0)


def test_repr_never_contains_the_key(monkeypatch):
    monkeypatch.setenv("EXAMPLE_API_KEY", "sk-planted-config-secret")
    config = load_config(EXAMPLE)
    assert "sk-planted-config-secret" not in repr(config)
    assert "EXAMPLE_API_KEY" in repr(config)


def minimal(**fields):
    table = {"base_url": "http://127.0.0.1:1", "model": "x"}
    table.update(fields)
    return {"models": {"m": table}}


@pytest.mark.parametrize(
    "data, field",
    [
        (minimal(api="embeddings"), "models.m.api"),
        (minimal(base_urls=["http://b"]), "models.m.base_url"),
        ({"models": {"m": {"model": "x"}}}, "models.m.base_url"),
        (minimal(api_key_env="sk-this-looks-like-a-key"), "models.m.api_key_env"),
        (minimal(max_concurrency=0), "models.m.max_concurrency"),
        (minimal(rpm=-1), "models.m.rpm"),
        (minimal(price={"prompt_per_1k": -1.0}), "models.m.price.prompt_per_1k"),
        (minimal(price={"per_token": 1.0}), "models.m.price.per_token"),
        (minimal(temperature=0.3), "models.m.temperature"),
        ({"models": {}}, "models"),
        ({"runner": {"max_attempts": 0}, **minimal()}, "runner.max_attempts"),
        ({"runner": {"retries": 3}, **minimal()}, "runner.retries"),
        # TOML spells inf and nan; either would disable a cost or time check.
        (minimal(price={"completion_per_1k": float("nan")}), "models.m.price.completion_per_1k"),
        (minimal(price={"per_call": float("inf")}), "models.m.price.per_call"),
        ({"runner": {"timeout_seconds": float("inf")}, **minimal()}, "runner.timeout_seconds"),
        ({"runner": {"backoff_max_seconds": float("nan")}, **minimal()},
         "runner.backoff_max_seconds"),
    ],
)
def test_bad_fields_are_named(data, field):
    with pytest.raises(UserError) as error:
        parse_config(data, "cfg.toml")
    assert str(error.value).startswith(f"cfg.toml: field {field} ")


def test_key_value_never_echoed_in_errors():
    with pytest.raises(UserError) as error:
        parse_config(minimal(api_key_env="sk-this-looks-like-a-key"), "cfg.toml")
    assert "sk-this-looks-like-a-key" not in str(error.value)


def test_file_errors(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        load_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[models\n")
    with pytest.raises(UserError, match="bad.toml is not valid TOML"):
        load_config(bad)


def test_unknown_model_lists_known():
    config = parse_config(minimal())
    with pytest.raises(UserError, match=r"'z' is not in the config \(known: m\)"):
        config.model("z")


# Tokens pasted where the variable's NAME belongs (shapes of real tokens; none is a real key).
PASTED_KEYS = [
    "hf_AbCdEfGhIjKlMnOpQrStUvWxYz01234567",
    "ghp_0123456789abcdefABCDEF0123456789abcd",
    "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
    "sk-proj-Abc123Def456Ghi789",
    "sk_live_51AbCdEfGhIjKlMnOp",
    "AKIAIOSFODNN7EXAMPLE",
    "MY_TOKEN_9f8e7d6c5b4a39281706",
    "Bearer abc",
    "",
]


@pytest.mark.parametrize("pasted", PASTED_KEYS)
def test_a_pasted_key_is_refused_without_echo(pasted):
    with pytest.raises(UserError) as error:
        parse_config(minimal(api_key_env=pasted), "cfg.toml")
    message = str(error.value)
    assert message.startswith("cfg.toml: field models.m.api_key_env does not look like the NAME")
    assert not pasted or pasted not in message


@pytest.mark.parametrize("pasted", PASTED_KEYS[:3])
def test_a_pasted_key_in_a_hand_built_config_is_refused_without_echo(pasted):
    with pytest.raises(UserError) as error:
        ModelConfig(name="m", base_urls=("http://127.0.0.1:1",), model="x", api_key_env=pasted)
    assert "api_key_env of model 'm' does not look like" in str(error.value)
    assert pasted not in str(error.value)


@pytest.mark.parametrize("name", ["OPENAI_API_KEY", "HF_TOKEN", "GITHUB_TOKEN", "my_key",
                                  "EXAMPLE_API_KEY", "SLMMUX_PLANTED_KEY", "KEY2"])
def test_variable_names_are_accepted(name):
    assert parse_config(minimal(api_key_env=name)).model("m").api_key_env == name


def test_collect_never_prints_a_pasted_key(tmp_path, capsys):
    from slmmux_run.cli import main

    config = tmp_path / "m.toml"
    config.write_text(f'[models.m]\nbase_url = "http://127.0.0.1:1"\nmodel = "x"\n'
                      f'api_key_env = "{PASTED_KEYS[0]}"\n')
    code = main(["collect", "--config", str(config), "--models", "m", "--task", "arithmetic",
                 "--questions", "2", "--k", "1", "--out", str(tmp_path / "r.jsonl")])
    captured = capsys.readouterr()
    assert code == 2
    assert "api_key_env does not look like the NAME" in captured.err + captured.out
    assert PASTED_KEYS[0] not in captured.err + captured.out
    assert not (tmp_path / "r.jsonl").exists()


def test_inf_and_nan_in_a_toml_file_are_named(tmp_path):
    path = tmp_path / "models.toml"
    path.write_text('[models.m]\nbase_url = "http://127.0.0.1:1"\nmodel = "x"\n'
                    'price = { completion_per_1k = inf }\n')
    with pytest.raises(UserError, match=r"field models.m.price.completion_per_1k must be a finite"):
        load_config(path)
