"""The policy file, one module per section: ``copies`` (copy rules, copy limits), ``exports``, ``accounts``
(account targets of a copy rule), ``acr``, ``cleanup``, ``builds``, ``windows``, ``alerts``; ``match`` (which
images a copy or export rule takes); ``loader`` (the whole ``Policy``, its checks across sections, and
``load_policy``/``check_policy``); ``errors`` (validation errors as problems with line numbers). This module
only re-exports: ``from shared.policy import X`` works for every public name. YAML validated by pydantic,
every error naming its dotted field.

Why so strict (``extra="forbid"``, checks across fields): a typo such as ``target_region:``
or an ``encrypt`` entry for a region that is not a target would otherwise silently copy
nothing, or copy unencrypted. Invariant 6: a bad policy fails fast, before any cloud call,
with a message like ``copy_rules[0].target_regions[1]: not a region id``.

Example
-------
>>> policy = load_policy('''
... copy_rules:
...   - name: web
...     source_regions: [cn-hangzhou]
...     match: {name_regex: "^app-", tags: {team: web}}
...     target_regions: [cn-beijing, ap-southeast-1]
...     encrypt: {cn-beijing: key-bj-1}
... ''')
>>> [r.name for r in policy.rules_for("cn-hangzhou", "app-1", {"team": "web"})]
['web']
>>> policy.copy_rules[0].render_name("app-1", "m-abc", "cn-hangzhou", "cn-beijing")
'app-1-cn-beijing'

Export rules (ExportImage to OSS) may be limited to a named window:

>>> policy = load_policy('''
... windows:
...   - {name: night, start: "01:00", end: "05:00", timezone: Asia/Shanghai}
... export_rules:
...   - name: archive
...     source_regions: [cn-hangzhou]
...     match: {name_regex: "^app-"}
...     bucket: {cn-hangzhou: relay-exports-hz}
...     oss_prefix: archive
...     format: QCOW2
...     window: night
... ''')
>>> rule = policy.export_rules_for("cn-hangzhou", "app-1", {})[0]
>>> rule.format, rule.max_concurrent, policy.window(rule.window).end
('qcow2', 1, '05:00')
"""

from shared.policy.acr import AcrInstanceRef, AcrRule, AcrTarget, TagFilter
from shared.policy.builds import BuildRule, PipelineRef
from shared.policy.cleanup import CleanupPolicy
from shared.policy.copies import CopyLimits, CopyRule
from shared.policy.exports import ExportFormat, ExportRule
from shared.policy.loader import Policy, check_policy, load_policy
from shared.policy.match import ImageMatch
from shared.policy.windows import Window

__all__ = ["AcrInstanceRef", "AcrRule", "AcrTarget", "BuildRule", "CleanupPolicy", "CopyLimits", "CopyRule",
           "ExportFormat", "ExportRule", "ImageMatch", "PipelineRef", "Policy", "TagFilter", "Window", "check_policy",
           "load_policy"]
