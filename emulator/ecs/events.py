"""ActionTrail ``ecs:ActionTrail:ApiCall`` CloudEvents for image-creating ECS calls (alibaba-api.md §4.1, §4.3).

ECS has no ``ecs:Image:*`` events; EventBridge forwards ActionTrail write events instead. The emulator publishes
one (``State.publish``) for every successful CreateImage / CopyImage API call, for every seeded image whose
status is ``Creating``, and for ``POST /_emulator/ecs/create-image`` (an image created "in the console").

UNCONFIRMED shape (the published sample is a DeleteDisk call): envelope of §4.1 (``source`` ``acs.ecs``,
``subject`` ``acs:ecs:<region>:<account>:image/<ImageId>``, ``time`` the virtual now in UTC ``Z``, account id
unmasked); ``data`` = ``eventId``, ``eventVersion`` 1, ``eventRW`` Write, ``eventType`` ApiCall,
``eventName`` (the action), ``serviceName`` Ecs, ``acsRegion`` (the *called* region: the source region for
CopyImage), ``eventTime``, ``requestId``, ``userIdentity`` (``{"type": "ram-user", "accessKeyId", "userName":
"emulator"}``; ``{"type": "root-account"}`` for the console/seed), ``sourceIpAddress`` 127.0.0.1,
``requestParameters`` (the call's business parameters; the console path gives RegionId, ImageName),
``responseElements`` ``{"ImageId", "RequestId"}`` and ``referencedResources`` ``{"ACS::ECS::Image": [new id
(, source id for CopyImage)]}``.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any


def _utc(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _published(epoch: float) -> str:
    moment = datetime.fromtimestamp(epoch, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def api_call_event(
    *,
    action: str,
    region: str,
    image_id: str,
    account_id: str,
    now: float,
    request_parameters: dict[str, str],
    request_id: str | None = None,
    access_key_id: str | None = None,
    source_image_id: str | None = None,
) -> dict[str, Any]:
    """Build the ``ecs:ActionTrail:ApiCall`` CloudEvent of one image-creating call."""
    request_id = request_id or str(uuid.uuid4()).upper()
    identity: dict[str, Any] = (
        {"type": "ram-user", "accessKeyId": access_key_id, "userName": "emulator"}
        if access_key_id
        else {"type": "root-account", "principalId": account_id}
    )
    images = [image_id] + ([source_image_id] if source_image_id and source_image_id != image_id else [])
    return {
        "id": str(uuid.uuid4()),
        "source": "acs.ecs",
        "specversion": "1.0",
        "type": "ecs:ActionTrail:ApiCall",
        "subject": f"acs:ecs:{region}:{account_id}:image/{image_id}",
        "time": _utc(now),
        "datacontenttype": "application/json;charset=utf-8",
        "aliyunaccountid": account_id,
        "aliyunoriginalaccountid": account_id,
        "aliyunpublishtime": _published(now),
        "aliyuneventbusname": "default",
        "aliyunregionid": region,
        "aliyunpublishaddr": "172.25.XX.XX",
        "data": {
            "eventId": str(uuid.uuid4()),
            "eventVersion": 1,
            "eventRW": "Write",
            "eventType": "ApiCall",
            "eventName": action,
            "serviceName": "Ecs",
            "acsRegion": region,
            "eventTime": _utc(now),
            "requestId": request_id,
            "sourceIpAddress": "127.0.0.1",
            "userAgent": "emulator",
            "userIdentity": identity,
            "requestParameters": dict(request_parameters),
            "responseElements": {"ImageId": image_id, "RequestId": request_id},
            "referencedResources": {"ACS::ECS::Image": images},
            "isGlobal": False,
        },
    }
