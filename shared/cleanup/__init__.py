"""Cleanup of TemplateScratch- images and superseded copies: model, rules, planner, executor, service."""
