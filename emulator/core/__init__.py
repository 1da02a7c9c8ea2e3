"""Emulator core: dispatch, auth, state, control plane, regions, rendering: service-agnostic (no module here
imports a service; the server that registers every service is `emulator.server`)."""
