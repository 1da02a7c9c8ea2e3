"""Function Compute 2.0 (fc-open 2021-04-06): invocations, stateful async invocations and the event router."""
