"""STS 2015-04-01 (AssumeRole, GetCallerIdentity) for the multi-account emulator (issue #13)."""
