"""Function Compute 2.0: the 2021-04-06 plug-in (``urls``: invocations, stateful async invocations; ``management``:
CreateService/Function/Trigger) and the 2016-08-15 one (``api2016``) over one backend (``models``, ``runtime``);
``gate`` (authentication and faults) and ``invoke`` (InvokeFunction) serve both; the event router delivers
events and timers (``template`` reads the triggers, ``patterns`` matches events, ``cron`` the one cron grammar,
``router`` delivers)."""
