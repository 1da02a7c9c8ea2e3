"""The OSS service of the emulator: path-style buckets and objects served to ``oss2`` on the shared port."""
