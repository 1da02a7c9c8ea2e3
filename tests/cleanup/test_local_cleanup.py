"""`local up` with a cleanup timer: the functions' clock is the emulator's virtual clock, so a timer tick an
hour of virtual time ahead of the wall clock is not refused as a skewed caller time (issue #10, defect 4)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import yaml

from scripts import sample_world as scene
from scripts.local import TEMPLATE, LocalCloud, load_template


def test_the_cleanup_timer_runs_on_the_virtual_clock(tmp_path: Path) -> None:
    template: dict[str, Any] = load_template(TEMPLATE)
    template["Resources"]["CleanupTimer"]["Properties"]["TriggerConfig"]["cronExpression"] = "0 */5 * * * *"
    (tmp_path / "template.yml").write_text(yaml.safe_dump(template))
    (tmp_path / "policy.yml").write_text(scene.POLICY_YAML + "cleanup:\n  template_scratch: {min_age_hours: 24}\n"
                                         "  max_share: 1.0\n")
    cloud = LocalCloud(port=0, scene="demo", policy=tmp_path / "policy.yml", template=tmp_path / "template.yml",
                       state=f"sqlite:///{tmp_path / 'ledger.db'}").start()
    try:
        control = cloud.emulator.control
        born = dt.datetime.fromtimestamp(control.clock()["epoch"] - 3 * 86400, tz=dt.timezone.utc)
        control.seed({"images": [{"region": scene.SOURCE, "image_id": "m-bp1localclean1", "name": "TemplateScratch-x",
                                  "creation_time": born.strftime("%Y-%m-%dT%H:%M:%SZ")}]})
        for _ in range(13):  # an hour of virtual time, one tick at a time
            control.advance(300)
            assert cloud.wait_idle(60)
        cleanups = [i for i in control.fc_invocations() if i["functionName"] == "cleanup"]
        deletes = [c for c in control.requests() if c["action"] == "DeleteImage"]
        assert cleanups and all(i["status"] == "Succeeded" for i in cleanups), cleanups
        assert [c["params"]["ImageId"] for c in deletes] == ["m-bp1localclean1"]
    finally:
        cloud.stop()
