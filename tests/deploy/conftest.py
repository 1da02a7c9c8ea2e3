"""The code package `make package` builds, built once per test session (issue #11).

The build reuses ``build/package`` (wheels made from sdists, the installed dependencies), so only the first
run on a machine downloads and builds; later runs re-zip and re-check (about 15 s).
"""
from __future__ import annotations

from pathlib import Path

import pytest

from scripts import sample_world
from scripts.package import build


@pytest.fixture(scope="session")
def policy_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("policy") / "policy.yml"
    path.write_text(sample_world.POLICY_YAML + sample_world.ACR_POLICY_YAML)
    return path


@pytest.fixture(scope="session")
def package_zip(tmp_path_factory: pytest.TempPathFactory, policy_file: Path) -> Path:
    return build(tmp_path_factory.mktemp("dist"), policy=policy_file)
