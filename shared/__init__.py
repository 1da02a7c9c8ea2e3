"""image-relay's package: one kernel (``apply``, ``context``, ``wiring``, ``ledger``, ``policy``) and the
features on it (``replication``, ``exports``, ``acr``, ``builds``, ``cleanup``, ``alerts``); ``clouds`` alone
imports the SDKs. See README "Layout"."""
