"""Emulated ECS 2014-05-26: urls (action table), responses (wire), models (state + rules), exceptions."""
