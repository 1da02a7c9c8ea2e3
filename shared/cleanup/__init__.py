"""Cleanup of TemplateScratch- images, superseded copies and superseded builds' images (builds), and failed
builds' leftovers: model, rules, builds, planner, executor, leftovers, release, service."""
