"""ESS state and seed: scaling configurations per region. No HTTP here.

Seed key ``scaling_configurations: [{region, scaling_configuration_id, image_id, …}]`` (extra keys forbidden).
Defaults (UNCONFIRMED, emulator choices): ``name`` = the id, ``scaling_group_id`` = ``asg-`` + the id's tail,
``lifecycle_state`` ``Active``, ``image_id`` "" (a configuration may name an image family instead),
``creation_time`` = the virtual now. The image need not exist: ESS keeps a configuration whose image was
deleted (its scaling activities then fail), which is exactly what a cleanup must not cause.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from emulator.core.errors import InvalidRegionIdError, SeedError
from emulator.core.state import StrictModel

if TYPE_CHECKING:
    from emulator.core.state import State


class SeedScalingConfiguration(StrictModel):
    """A seeded scaling configuration; ``region`` and ``scaling_configuration_id`` are required."""

    region: str
    scaling_configuration_id: str = Field(min_length=1)
    image_id: str = ""
    image_family: str = ""
    image_name: str = ""
    name: str | None = None
    scaling_group_id: str | None = None
    lifecycle_state: Literal["Active", "Inactive"] = "Active"
    instance_type: str = "ecs.g7.large"
    creation_time: str | None = None


class EssSeed(StrictModel):
    """Seed keys contributed by ESS."""

    scaling_configurations: list[SeedScalingConfiguration] = Field(default_factory=list)


@dataclass
class ScalingConfiguration:
    """One scaling configuration (``scc-…``)."""

    region: str
    scaling_configuration_id: str
    name: str
    scaling_group_id: str
    image_id: str
    image_family: str
    image_name: str
    lifecycle_state: str
    instance_type: str
    creation_time: float
    seq: int


class EssBackend:
    """All ESS state of one emulator (one account)."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.reset()

    def reset(self) -> None:
        """Drop every scaling configuration."""
        self.configurations: dict[str, ScalingConfiguration] = {}
        self._seq = 0

    def validate_seed(self, seed: EssSeed, regions: list[str]) -> None:
        """Raise ``SeedError`` naming the first configuration whose region is not enabled."""
        for n, c in enumerate(seed.scaling_configurations):
            if c.region not in regions:
                raise SeedError(f"scaling_configurations.{n}.region", f"region {c.region!r} is not enabled")

    def apply_seed(self, seed: EssSeed) -> None:
        """Add (or replace) the seeded configurations."""
        from emulator.core.state import parse_iso

        for c in seed.scaling_configurations:
            self._seq += 1
            self.configurations[c.scaling_configuration_id] = ScalingConfiguration(
                region=c.region,
                scaling_configuration_id=c.scaling_configuration_id,
                name=c.name or c.scaling_configuration_id,
                scaling_group_id=c.scaling_group_id or f"asg-{c.scaling_configuration_id.split('-', 1)[-1]}",
                image_id=c.image_id,
                image_family=c.image_family,
                image_name=c.image_name,
                lifecycle_state=c.lifecycle_state,
                instance_type=c.instance_type,
                creation_time=self.state.clock.now() if c.creation_time is None else parse_iso(c.creation_time),
                seq=self._seq,
            )

    def describe(
        self, region: str | None, ids: list[str], names: list[str], group_id: str | None
    ) -> list[ScalingConfiguration]:
        """The region's configurations matching every filter, oldest first."""
        if region is None or not self.state.region_enabled(region):
            raise InvalidRegionIdError()
        found = [
            c for c in self.configurations.values()
            if c.region == region and (not ids or c.scaling_configuration_id in ids)
            and (not names or c.name in names) and (group_id is None or c.scaling_group_id == group_id)
        ]
        return sorted(found, key=lambda c: (c.creation_time, c.seq))
