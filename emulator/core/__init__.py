"""Emulator core: server, dispatch, auth, state, control plane (service-agnostic)."""
