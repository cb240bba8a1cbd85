"""A real Valkey cluster on this machine, wired by hand: three primaries with one replica
each, of the same Valkey binary the single-node tests use (no Docker, no cluster tool).

Slots are split evenly between the primaries (CLUSTER ADDSLOTSRANGE), every node is
introduced to the first (CLUSTER MEET), each replica follows its primary (CLUSTER
REPLICATE), and `start` returns once every node reports `cluster_state:ok`. A short node
timeout makes a replica take over a killed primary within a few seconds.
"""

from __future__ import annotations

import time
from pathlib import Path

from redis import Redis

from .servers import ValkeyServer, free_port

SLOTS = 16384


class ValkeyCluster:
    def __init__(self, *, data_dir: Path, primaries: int = 3, replicas: int = 1, node_timeout_ms: int = 2000) -> None:
        self.data_dir = Path(data_dir)
        self.primaries = primaries
        self.replicas = replicas
        self.node_timeout_ms = node_timeout_ms
        self.nodes: list[ValkeyServer] = []

    @property
    def url(self) -> str:
        """A `redis://` URL of one live node: the cluster client discovers the rest."""
        return next(node for node in self.nodes if node.proc is not None).url

    def start(self, timeout: float = 60) -> ValkeyCluster:
        buses = [free_port() for _ in range(self.primaries * (1 + self.replicas))]
        for i, bus in enumerate(buses):
            node = ValkeyServer(
                data_dir=self.data_dir / f"node-{i}",
                appendonly=True,
                extra_args=[
                    "--cluster-port",  # the bus port: by default port + 10000, too high for some free ports
                    str(bus),
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                    "--cluster-node-timeout",
                    str(self.node_timeout_ms),
                    "--cluster-require-full-coverage",
                    "no",
                ],
            )
            self.nodes.append(node.start())
        admins = [Redis(port=node.port, decode_responses=True) for node in self.nodes]
        try:
            per = SLOTS // self.primaries
            for i in range(self.primaries):
                last = SLOTS - 1 if i == self.primaries - 1 else (i + 1) * per - 1
                admins[i].execute_command("CLUSTER", "ADDSLOTSRANGE", i * per, last)
            for admin in admins[1:]:
                admin.execute_command("CLUSTER", "MEET", "127.0.0.1", self.nodes[0].port, buses[0])
            ids = [admin.execute_command("CLUSTER", "MYID") for admin in admins]
            deadline = time.monotonic() + timeout
            for r, admin in enumerate(admins[self.primaries :]):
                primary = ids[r % self.primaries]
                while True:  # a replica may follow a primary once it has heard of it
                    try:
                        admin.execute_command("CLUSTER", "REPLICATE", primary)
                        break
                    except Exception:
                        if time.monotonic() > deadline:
                            raise
                        time.sleep(0.1)
            self._wait_ok(admins, deadline)
        finally:
            for admin in admins:
                admin.close()
        return self

    def wait_formed(self, timeout: float = 60) -> None:
        """Until the cluster is whole again (a restarted node rejoined as a replica)."""
        admins = [Redis(port=node.port, decode_responses=True) for node in self.nodes if node.proc is not None]
        primaries = [a for a in admins if a.execute_command("ROLE")[0] == "master"]
        replicas = [a for a in admins if a not in primaries]
        try:
            self._wait_ok([*primaries, *replicas], time.monotonic() + timeout)
        finally:
            for admin in admins:
                admin.close()

    def _wait_ok(self, admins: list[Redis], deadline: float) -> None:
        """Until every node agrees: state ok, every slot covered by a primary with its
        replicas attached, each replica's link to its primary up."""
        while True:
            states = [admin.execute_command("CLUSTER", "INFO") for admin in admins]
            views = [admin.execute_command("CLUSTER", "SLOTS") for admin in admins]
            links = [admin.info("replication") for admin in admins[self.primaries :]]
            formed = (
                all("cluster_state:ok" in state for state in states)
                and all(sum(r[1] - r[0] + 1 for r in view) == SLOTS for view in views)
                and all(len(r) == 3 + self.replicas for view in views for r in view)
                and all(link.get("master_link_status") == "up" for link in links)
            )
            if formed:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"the cluster did not form: {states[0]}")
            time.sleep(0.1)

    def primary_for(self, key: str) -> ValkeyServer:
        """The node that holds `key`'s slot now (after a failover, the promoted replica)."""
        alive = [node for node in self.nodes if node.proc is not None]
        with Redis(port=alive[0].port, decode_responses=True) as admin:
            slot = admin.execute_command("CLUSTER", "KEYSLOT", key)
        for node in alive:
            with Redis(port=node.port, decode_responses=True) as admin:
                if "master" in admin.execute_command("ROLE")[0]:
                    for line in admin.execute_command("CLUSTER", "NODES").splitlines():
                        fields = line.split()
                        if "myself" in fields[2]:
                            for spec in fields[8:]:
                                low, _, high = spec.partition("-")
                                if low.isdigit() and int(low) <= slot <= int(high or low):
                                    return node
        raise LookupError(f"no live primary holds the slot of {key!r}")

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
