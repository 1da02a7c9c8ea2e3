"""image-relay's package: one kernel (``apply``, ``context``, ``wiring``, ``dispatch``, ``reconcile``,
``ledger``, ``policy``, ``values``, ``events``) and the features on it (``replication``, ``exports``, ``acr``,
``accounts``, ``builds``, ``cleanup``, ``alerts``); ``clouds`` alone imports the SDKs. See README "Layout"."""
