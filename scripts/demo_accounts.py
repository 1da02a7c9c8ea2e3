"""The demo's cross-account scene (issue #13): one image delivered into a partner account.

A partner account (its role trusts the demo's account; it owns a KMS key in Singapore) receives one image: the
image is shared with it, the partner copies it in the source region (its own image from then on), then on to
Singapore with its key, and the share is removed once the partner's first copy is Available. The image's event
is delivered twice; the duplicate starts nothing. The same partner set-up is what the README's "Cross-account
distribution" section asks of a real partner.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emulator import Emulator
from scripts import sample_world as scene
from scripts.invoke import invoke
from scripts.progress import progress

PARTNER = "2222222222222222"
PARTNER_ROLE = "image-relay-partner"
PARTNER_KEY = "key-partner-sg"
IMAGE_ID, IMAGE_NAME = "m-bp1demoptnr004", "partner-base-2026-11"

POLICY_YAML = f"""\
# Deliver partner- images into account {PARTNER}: in Hangzhou (its copy of the shared image) and on to
# Singapore with the partner's own KMS key; the share is removed once the partner's first copy is Available.
copy_rules:
  - name: partners
    source_regions: [cn-hangzhou]
    match: {{name_regex: "^partner-"}}
    target_regions: [cn-beijing]
    accounts:
      - account_id: "{PARTNER}"
        role_arn: "acs:ram::{PARTNER}:role/{PARTNER_ROLE}"
        target_regions: [ap-southeast-1]
        kms_keys: {{ap-southeast-1: {PARTNER_KEY}}}
"""


def seed() -> dict[str, Any]:
    """The partner account (role, KMS key) and the image to deliver, in the emulator's seed shape."""
    return {
        "accounts": [{"account_id": PARTNER, "access_key_id": "partner-ak", "access_key_secret": "partner-secret",
                      "roles": [{"name": PARTNER_ROLE, "trusted_accounts": [scene.ACCOUNT_ID]}],
                      "kms_keys": [{"region": "ap-southeast-1", "key_id": PARTNER_KEY}]}],
        "images": [{"region": scene.SOURCE, "image_id": IMAGE_ID, "name": IMAGE_NAME, "size_gib": 20}],
    }


@dataclass
class AccountsRun:
    """What the scene did, for the report."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    duplicates_ignored: int = 0
    shares: int = 0
    unshares: int = 0
    partner_copies: int = 0
    still_shared_with: list[str] = field(default_factory=list)
    minutes: int = 0
    api_calls: int = 0


def accounts_phase(emu: Emulator, work: Path, state_url: str) -> AccountsRun:
    """Run the scene: the event twice, then reconcile ticks until every hop is final."""
    from scripts.status import account_rows
    from shared.ledger import Ledger, open_store

    run = AccountsRun()
    (work / "policy.yml").write_text(POLICY_YAML)
    emu.control.seed(seed())
    before = len(emu.control.requests())
    event = scene.create_image_event(scene.SOURCE, IMAGE_ID, IMAGE_NAME)
    for _ in (1, 2):
        if json.loads(invoke("image_created", event))["status"] == "duplicate":
            run.duplicates_ignored += 1
    ledger = Ledger(open_store(state_url))
    with progress("partner account", total=None) as advance:
        for minute in range(60):
            invoke("reconcile", scene.timer_event())
            advance(f"{minute} virtual min")
            hops = [*ledger.scan("xshare/"), *ledger.scan("xcopy/")]
            if hops and not any(r.is_active for r in hops):
                run.minutes = minute
                break
            emu.control.advance(60)
    run.rows = account_rows(ledger, dt.datetime.now(dt.timezone.utc))
    ledger.close()
    calls = emu.control.requests()[before:]
    run.api_calls = len(calls)
    shares = [c for c in calls if c["action"] == "ModifyImageSharePermission" and c["status"] == 200]
    run.shares = sum(1 for c in shares if "AddAccount.1" in c["params"])
    run.unshares = sum(1 for c in shares if "RemoveAccount.1" in c["params"])
    run.partner_copies = sum(1 for c in calls if c["action"] == "CopyImage" and c["status"] == 200
                             and c["account"] == PARTNER)
    run.still_shared_with = _shared_with(emu)
    if not run.rows or any(r["state"] != "done" for r in run.rows):
        raise SystemExit("demo: the partner delivery did not finish")
    return run


def _shared_with(emu: Emulator) -> list[str]:
    """Whom the source image is still shared with (DescribeImageSharePermission, as the source account)."""
    from shared.clouds.ecs import EcsGateway
    from shared.config import Credentials

    ecs = EcsGateway.connect(Credentials(access_key_id="test-ak", access_key_secret="test-secret"), endpoint=emu.url)
    return ecs.image_share_accounts(scene.SOURCE, IMAGE_ID)


def summary_line(run: AccountsRun, number: int) -> str:
    """The report's line for this scene (``number`` in the report's list)."""
    regions = sorted({r["region"] for r in run.rows if r["hop"] == "copy"}, key=lambda r: r != scene.SOURCE)
    return (f"{number}. {IMAGE_NAME} went to partner account {PARTNER}: shared once, copied by the partner in "
            f"{' then '.join(regions)} ({run.partner_copies} CopyImage calls in its account, Singapore with its own "
            f"KMS key); the duplicate event started nothing; {run.shares} share and {run.unshares} unshare, and at "
            f"the end the image is shared with {', '.join(run.still_shared_with) or 'nobody'}.")
