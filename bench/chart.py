"""bench/results.json -> bench/results.png: each figure next to its target, as a share of
the target (below the line is within it), so figures of different units share one chart.

    .venv/bin/python -m bench.chart [bench/results.json]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display here, and none needed
import matplotlib.pyplot as plt  # noqa: E402


def rows(results: dict[str, Any]) -> list[tuple[str, float, float, bool]]:
    """(label, measured, target, higher_is_better) for every targeted figure present."""
    r = results
    out: list[tuple[str, float, float, bool]] = []
    if "workflow_overhead" in r:
        out.append(("20-step workflow\ntime ratio", r["workflow_overhead"]["ratio_p50"], 1.10, False))
    if "latency_to_client" in r:
        p = r["latency_to_client"]["progress"]["ours"]
        out.append(("progress -> client\np50 ms", p["p50_ms"], 20, False))
        out.append(("progress -> client\np99 ms", p["p99_ms"], 60, False))
        out.append(("merge -> client\np50 ratio", r["latency_to_client"]["merge"]["ratio_p50"], 1.3, False))
    if "approve_to_resumed" in r:
        out.append(("approve -> resumed\np50 ratio", r["approve_to_resumed"]["ratio_p50"], 1.15, False))
    if "step_floor" in r:
        out.append(("per-item time ratio\nto one activity", r["step_floor"]["ratio_per_item"], 1.5, False))
    if "concurrency" in r:
        c = r["concurrency"]
        out.append(("50 runs at once items/s\nratio to raw design", c["ratio_to_raw"], 0.9, True))
        out.append(("50 runs at once items/s\nratio to the floor", c["ratio_to_floor"], 0.6, True))
    if "broadcast_1000" in r:
        out.append(("1,000 clients\nall delivered p99 ms", r["broadcast_1000"]["all_delivered"]["p99_ms"], 200, False))
        out.append(("1,000 clients\nfresh API RSS MB", r["broadcast_1000"]["api_rss_mb"]["connected"], 120, False))
    if "broadcast_10000" in r:
        b = r["broadcast_10000"]
        out.append(("10,000 clients, 2 APIs\nall delivered p99 ms", b["all_delivered"]["p99_ms"], 500, False))
        out.append(("10,000 clients\nRSS MB per API", b["api_rss_mb"]["connected"], 250, False))
    if "list_page" in r:
        largest = max(r["list_page"]["results"], key=int)
        out.append(("list page 100k\np50 ms", r["list_page"]["results"][largest]["first_page"]["p50_ms"], 5, False))
        out.append(("list page\n100k/10k ratio", r["list_page"]["ratio_first_page_p50"], 1.5, False))
    if "actor" in r:
        a = r["actor"]
        out.append(("one agent\nHTTP RPC calls/s", a["calls_per_s_one_agent"], 300, True))
        out.append(("turn overhead\nRPC p50 ms", a["turn_overhead_p50_ms"], 1.5, False))
        out.append(("20 agents / one\ncalls/s speedup", a["parallel_agents_speedup"], 5, True))
    if "agent_to_agent" in r:
        aa = r["agent_to_agent"]
        out.append(("A calls B: stub / HTTP RPC\ncalls/s ratio", aa["stub_vs_http"], 1.0, True))
        out.append(("stub added to a local\ncall with turn p50 ms", aa["stub_added_p50_ms"], 2.0, False))
    if "http_starts" in r:
        out.append(("HTTP starts/s ratio\nto raw, same request", r["http_starts"]["ratio"], 0.8, True))
    if "scheduled_calls" in r:
        out.append(("10,000 one-shots\nfired within 2 s", r["scheduled_calls"]["ours"]["within_2s"], 1.0, True))
        out.append(("10,000 one-shots\nlateness p99 s", r["scheduled_calls"]["ours"]["p99_s"], 2, False))
    if "broadcast_cluster" in r:
        bc = r["broadcast_cluster"]
        out.append(("1,000 clients, cluster\n/ single p99 ratio", bc["ratio_all_delivered_p99"], 1.5, False))
    if "chat" in r:
        ch = r["chat"]
        out.append(("chat chunk -> client\np50 ms", ch["chunk_latency"]["ours"]["p50_ms"], 10, False))
        out.append(("chat chunk p50 ratio\nto Workflow Streams", ch["chunk_latency"]["ratio_p50"], 0.1, False))
        ttft = ch["time_to_first_token"]["ratio_p50_to_raw_plus_model"]
        out.append(("chat first token ratio\nto raw start + model", ttft, 1.3, False))
        out.append(("100 chats tokens/s\nratio to plain WebSocket", ch["concurrent_chats"]["ratio"], 0.7, True))
        out.append(
            ("chat replay 2,000\nchunks p50 ms", ch["resume_replay"]["ours_ack_to_last_chunk"]["p50_ms"], 200, False)
        )
    if "cost_growth" in r:
        out.append(("cost per item\n20k/200 ratio", r["cost_growth"]["ratio_per_item_largest_to_smallest"], 1.3, False))
    return out


def draw(report: dict[str, Any], out: Path) -> None:
    data = rows(report["results"])
    shares = [m / t if not better else t / m for _, m, t, better in data]
    fig, ax = plt.subplots(figsize=(15, 5.5))
    colors = ["#2e7d32" if s <= 1 else "#c62828" for s in shares]
    bars = ax.bar(range(len(data)), shares, color=colors)
    ax.axhline(1.0, color="black", linestyle="--", linewidth=1, label="target")
    for bar, (_, measured, target, better) in zip(bars, data, strict=True):
        ax.annotate(
            f"{measured:g}\n({'>=' if better else '<='} {target:g})",
            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            ha="center",
            va="bottom",
            fontsize=8,
        )
    ax.set_xticks(range(len(data)), [label for label, *_ in data], fontsize=7)
    ax.set_ylabel("measured / target (starts: target / measured)")
    ax.set_title(
        f"make bench, {report['machine']['cpus']} cores, {report['machine']['when']}: below the line meets the target"
    )
    ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def markdown(report: dict[str, Any]) -> str:
    """The README's table: every targeted figure, its target, and whether it is met."""
    lines = ["| figure | measured | target | met |", "|---|---|---|---|"]
    for label, measured, target, better in rows(report["results"]):
        met = measured >= target if better else measured <= target
        lines.append(
            f"| {label.replace(chr(10), ' ')} | {measured:g} | {'>=' if better else '<='} {target:g} | "
            f"{'yes' if met else '**no**'} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "results.json"
    report = json.loads(source.read_text())
    draw(report, source.with_suffix(".png"))
    print(markdown(report))
