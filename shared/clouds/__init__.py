"""Cloud adapters: the only modules that import the Alibaba Cloud SDKs.

Everything outside this package sees typed results (`ecs_types`) and the project's errors
(`shared.errors`); SDK exceptions are translated once, in `_errors.translate`.
Submodules are imported lazily by callers so a function loads only the SDK it uses.
"""
