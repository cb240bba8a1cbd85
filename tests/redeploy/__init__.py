"""Versions of one workflow, `redeploy_flow`, as a user ships them: `v1` is deployed,
then a worker running one of the others replaces it while a run is in flight."""
