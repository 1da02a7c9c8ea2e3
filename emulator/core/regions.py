"""The region catalog shared by every emulated service.

The ids and names are the real Alibaba Cloud public regions. ``RegionEndpoint`` follows the real ECS pattern
(``ecs.<region>.aliyuncs.com``, with ``ecs-cn-hangzhou.aliyuncs.com`` for the historic hangzhou host).
A seeded region id that is not in the catalog is accepted with its id as both local names (UNCONFIRMED,
an emulator convenience).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Region:
    """One region: id plus Chinese and English local names."""

    region_id: str
    name_zh: str
    name_en: str

    def local_name(self, accept_language: str) -> str:
        """Return the name in the requested language (``zh-CN`` is the ECS default)."""
        return self.name_en if accept_language.lower().startswith(("en", "ja")) else self.name_zh

    @property
    def ecs_endpoint(self) -> str:
        """Return the public ECS endpoint of the region."""
        if self.region_id == "cn-hangzhou":
            return "ecs-cn-hangzhou.aliyuncs.com"
        return f"ecs.{self.region_id}.aliyuncs.com"


_CATALOG: tuple[Region, ...] = (
    Region("cn-qingdao", "华北1（青岛）", "China (Qingdao)"),
    Region("cn-beijing", "华北2（北京）", "China (Beijing)"),
    Region("cn-zhangjiakou", "华北3（张家口）", "China (Zhangjiakou)"),
    Region("cn-huhehaote", "华北5（呼和浩特）", "China (Hohhot)"),
    Region("cn-wulanchabu", "华北6（乌兰察布）", "China (Ulanqab)"),
    Region("cn-hangzhou", "华东1（杭州）", "China (Hangzhou)"),
    Region("cn-shanghai", "华东2（上海）", "China (Shanghai)"),
    Region("cn-nanjing", "华东5（南京-本地地域）", "China (Nanjing - Local Region)"),
    Region("cn-shenzhen", "华南1（深圳）", "China (Shenzhen)"),
    Region("cn-heyuan", "华南2（河源）", "China (Heyuan)"),
    Region("cn-guangzhou", "华南3（广州）", "China (Guangzhou)"),
    Region("cn-chengdu", "西南1（成都）", "China (Chengdu)"),
    Region("cn-hongkong", "中国香港", "China (Hong Kong)"),
    Region("ap-northeast-1", "日本（东京）", "Japan (Tokyo)"),
    Region("ap-northeast-2", "韩国（首尔）", "South Korea (Seoul)"),
    Region("ap-southeast-1", "新加坡", "Singapore"),
    Region("ap-southeast-3", "马来西亚（吉隆坡）", "Malaysia (Kuala Lumpur)"),
    Region("ap-southeast-5", "印度尼西亚（雅加达）", "Indonesia (Jakarta)"),
    Region("ap-southeast-6", "菲律宾（马尼拉）", "Philippines (Manila)"),
    Region("ap-southeast-7", "泰国（曼谷）", "Thailand (Bangkok)"),
    Region("us-east-1", "美国（弗吉尼亚）", "US (Virginia)"),
    Region("us-west-1", "美国（硅谷）", "US (Silicon Valley)"),
    Region("eu-west-1", "英国（伦敦）", "UK (London)"),
    Region("eu-central-1", "德国（法兰克福）", "Germany (Frankfurt)"),
    Region("me-east-1", "阿联酋（迪拜）", "UAE (Dubai)"),
    Region("me-central-1", "沙特（利雅得）", "SAU (Riyadh)"),
)

CATALOG: dict[str, Region] = {r.region_id: r for r in _CATALOG}


def region_for(region_id: str) -> Region:
    """Return the catalog entry, or a synthetic one for a seeded id outside the catalog."""
    return CATALOG.get(region_id) or Region(region_id, region_id, region_id)
