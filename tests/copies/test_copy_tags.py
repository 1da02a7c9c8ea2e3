"""`copy_tags`: the source's own tags ride along on every copy, beside provenance, within ECS's limits."""
from __future__ import annotations

from scripts import sample_world as scene

IMAGE = "m-bp1tagged0001"


def _seed(world, tags: dict[str, str]) -> None:
    world.emu.control.seed({"images": [{"region": "cn-hangzhou", "image_id": IMAGE, "name": "app-tagged",
                                        "size_gib": 20, "tags": {"team": "web", **tags}}]})


def _copy_tags(world, region: str) -> dict[str, str]:
    copies = [c for c in world.copies_in(region) if c.tags["image-relay:source-image"] == IMAGE]
    assert len(copies) == 1
    return dict(copies[0].tags)


def test_the_source_tags_are_copied_and_reserved_prefixes_are_left_out(world):
    _seed(world, {"cost-center": "cc-42", "acs:ecs:source": "x", "aliyun-managed": "y"})
    world.invoke("image_created", world.event(IMAGE, name="app-tagged"))
    for region in scene.TARGETS:
        tags = _copy_tags(world, region)
        assert {k: v for k, v in tags.items() if not k.startswith("image-relay:")} == {
            "team": "web", "cost-center": "cc-42"}
        assert tags["image-relay:source-image"] == IMAGE and tags["image-relay:managed"] == "true"
    sent = [c["params"] for c in world.calls("CopyImage", 200)]
    assert all(not any(v.startswith(("acs:", "aliyun")) for k, v in p.items() if k.endswith(".Key")) for p in sent)


def test_at_most_twenty_tags_provenance_first(world):
    _seed(world, {f"k{i:02d}": str(i) for i in range(30)})
    world.invoke("image_created", world.event(IMAGE, name="app-tagged"))
    tags = _copy_tags(world, "cn-beijing")
    assert len(tags) == 20
    assert sum(1 for k in tags if k.startswith("image-relay:")) == 5
    assert [k for k in tags if not k.startswith("image-relay:")] == sorted(
        ["team", *(f"k{i:02d}" for i in range(30))])[:15]


def test_copy_tags_false_keeps_only_provenance(world):
    world.set_policy(scene.POLICY_YAML.replace("    target_regions:", "    copy_tags: false\n    target_regions:", 1))
    _seed(world, {"cost-center": "cc-42"})
    world.invoke("image_created", world.event(IMAGE, name="app-tagged"))
    assert all(k.startswith("image-relay:") for k in _copy_tags(world, "cn-beijing"))
