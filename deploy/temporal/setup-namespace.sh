#!/bin/sh
# Creates the namespace and the search attributes agents set on every run (AgentType,
# AgentName, AgentWorkflow), waiting for the server and retrying until each step took:
# a fresh server answers health checks before its namespaces can take attributes.
set -u
ADDRESS="${TEMPORAL_ADDRESS:-temporal:7233}"
NAMESPACE="${TEMPORAL_NAMESPACE:-default}"

retry() {  # retry <what> <command...>: up to 60 tries, 2 s apart
  what="$1"; shift
  n=0
  until "$@"; do
    n=$((n + 1))
    if [ "$n" -ge 60 ]; then echo "gave up: $what"; exit 1; fi
    echo "not yet: $what (try $n)"; sleep 2
  done
}

retry "server healthy" temporal operator cluster health --address "$ADDRESS"
retry "namespace $NAMESPACE" sh -c "temporal operator namespace describe -n '$NAMESPACE' --address '$ADDRESS' >/dev/null 2>&1 \
  || temporal operator namespace create -n '$NAMESPACE' --retention 7d --address '$ADDRESS'"
for name in AgentType AgentName AgentWorkflow; do
  retry "search attribute $name" sh -c "temporal operator search-attribute list -n '$NAMESPACE' --address '$ADDRESS' | grep -q '$name' \
    || temporal operator search-attribute create -n '$NAMESPACE' --address '$ADDRESS' --name '$name' --type Keyword"
done
echo "namespace $NAMESPACE and search attributes ready"
