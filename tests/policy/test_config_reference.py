"""The README's configuration reference is generated from the pydantic models and must match them."""
from __future__ import annotations

from scripts.config_reference import BEGIN, END, README, render


def test_readme_reference_matches_the_models():
    readme = README.read_text()
    block = readme[readme.index(BEGIN): readme.index(END) + len(END)]
    assert block == render(), "run: python -m scripts.config_reference --write"


def test_reference_names_every_policy_section_and_setting():
    from shared.config import _FIELD_TO_ENV
    from shared.policy import Policy

    text = render()
    for key in Policy.model_fields:
        assert f"| `{key}` |" in text
    for env in _FIELD_TO_ENV.values():
        assert f"`{env}`" in text
