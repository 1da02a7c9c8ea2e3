"""Typed values the ESS adapter returns (no SDK import, so planners and tests can use them freely)."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ScalingConfiguration(BaseModel):
    """A scaling configuration, reduced to how it names an image (any of the three may be "")."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    region: str
    scaling_configuration_id: str
    scaling_group_id: str = ""
    image_id: str = ""
    image_family: str = ""
    image_name: str = ""
    lifecycle_state: str = ""
