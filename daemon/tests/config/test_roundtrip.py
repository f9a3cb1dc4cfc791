"""parse(render(model)) == model, for generated models (hypothesis)."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings

from pykeepalived.config.loader import loads_config
from pykeepalived.config.model import Config
from pykeepalived.config.render import render

from .strategies import configs


@settings(max_examples=int(os.environ.get("ROUNDTRIP_EXAMPLES", "80")), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs())
def test_parse_of_render_is_identity(config: Config) -> None:
    text = render(config)
    parsed, diags = loads_config(text, "rendered.conf")
    assert not diags.errors, "\n".join(map(str, diags.errors)) + "\n" + text
    assert parsed == config, text


def test_render_is_stable_for_the_seed_restored_file() -> None:
    from pathlib import Path

    from pykeepalived.config.loader import load_config

    config, _ = load_config(str(Path(__file__).parent / "seeds" / "002_virtual_server.conf"))
    once = render(config)
    twice = render(loads_config(once)[0])
    assert once == twice
