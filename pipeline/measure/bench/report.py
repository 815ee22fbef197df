"""The benchmark's outputs: a rich table, a JSON file and a PNG chart (matplotlib)."""

from __future__ import annotations

import time
from pathlib import Path

import orjson
from rich.console import Console
from rich.table import Table

from pipeline import topics

#: consume->produce hops from news.raw to news.enriched (one a stage)
HOPS = len(topics.STAGE_TOPICS)

#: the keys ``newsflow bench --json`` always prints first (the issue's contract)
HEADLINE_KEYS = (
    "articles_per_s", "ner_peer_articles_per_s", "ratio_vs_ner_peer", "quix_articles_per_s", "ratio_vs_quix",
    "naive_spacy_articles_per_s", "ratio_vs_naive", "noop_msgs_per_s", "rawloop_msgs_per_s", "quix_noop_msgs_per_s",
    "transport_ratio_vs_quix",
    "transport_ratio", "latency_offered_per_s", "latency_p50_s", "latency_p95_s", "latency_p99_s",
    "articles_per_s_2_workers", "scaling_2_workers", "scaling_basis", "scaling_2_workers_unpinned",
    "articles_per_s_1core", "articles_per_s_2_workers_1core", "ratio_vs_naive_1core", "peak_rss_mb", "dedup_index_entries", "dedup_index_mb", "dedup_index_bytes_per_article",
    "chain_cpu_ms_per_article", "cpu_ms_per_article", "bottleneck_stage", "embedded", "complete",
)


def ordered(result: dict) -> dict:
    out = {k: result.get(k) for k in HEADLINE_KEYS}
    out.update({k: v for k, v in result.items() if k not in out})
    return out


def write_json(result: dict, out_dir: Path) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    data = orjson.dumps(ordered(result), option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS)
    path = out_dir / f"bench-{stamp}.json"
    path.write_bytes(data)
    (out_dir / "latest.json").write_bytes(data)
    return path


def _fmt(v, unit: str = "") -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:,.3f}{unit}" if v < 10 else f"{v:,.1f}{unit}"
    return f"{v:,}{unit}"


def print_table(result: dict, console: Console) -> None:
    c = result.get("corpus", {})
    console.print(f"[bold]newsflow bench[/]: {c.get('articles')} articles from {c.get('source')} "
                  f"(seed {c.get('seed')}, {c.get('words_total', 0):,} words, {c.get('exact_duplicates')} exact and "
                  f"{c.get('near_duplicates')} near duplicates, {c.get('typos')} typos)")
    t = Table(title="Throughput", title_justify="left")
    t.add_column("what")
    t.add_column("articles/s", justify="right")
    t.add_column("words/s", justify="right")
    t.add_column("note")
    per_article = result.get("stages", {}).get("cpu_ms_per_article", {})
    for name, st in result.get("stages", {}).get("stages", {}).items():
        cpu = per_article.get(name)
        t.add_row(f"stage {name} (function alone)", _fmt(st["articles_per_s"]), _fmt(st["words_per_s"]),
                  f"{st['articles_in']} in, {st['share_of_time']:.0%} of chain time"
                  + (f", CPU {cpu:.2f} ms/article" if cpu is not None else ""))
    if "stages" in result:
        t.add_row("chain in-process (sum of stages)", _fmt(result["stages"]["chain_articles_per_s"]), "", "ceiling of 1 worker")
    npeer = result.get("ner_peer")
    if npeer:
        t.add_row("[yellow]peer: spaCy NER only, nlp.pipe[/]", _fmt(npeer["articles_per_s"]), _fmt(npeer["words_per_s"]),
                  f"{npeer['model']} {'+'.join(npeer['components'])}, n_process={npeer['n_process']}, "
                  f"batch {npeer['batch_size']}, {npeer['articles']} articles")
    nv = result.get("naive")
    if nv:
        t.add_row("[yellow]peer: naive spaCy nlp(text)[/]", _fmt(nv["articles_per_s"]), _fmt(nv["words_per_s"]),
                  f"{nv['model']}, {nv['articles']} articles")
    ph = result.get("phases", {})
    for key, p in ph.items():
        if p.get("error"):
            t.add_row(f"[red]{key}[/]", "–", "", "failed: " + p["error"].splitlines()[0][:120])
    for key, label in (("pipeline_1w", "pipeline, 1 worker"), ("pipeline_2w", "pipeline, 2 workers"),
                       ("pipeline_1w_1core", "pipeline, 1 worker on 1 core"),
                       ("pipeline_2w_1core", "pipeline, 2 workers on 1 core each"),
                       ("quix_pipeline", "[yellow]peer: Quix Streams, same stages[/]"),
                       ("embedded_pipeline_1w", "pipeline, 1 worker, on Tansu")):
        if key in ph and not ph[key].get("error"):
            p = ph[key]
            t.add_row(f"[bold]{label}[/]", _fmt(p["per_s"]), "",
                      f"{p['arrived']}/{p['messages']} out in {p['seconds']:.1f} s; " +
                      ", ".join(f"{k.split('.')[-1]} {v}" for k, v in p["counts"].items()))
    for key, label in (("noop_1w", f"no-op pipeline (msgs/s, {HOPS} hops)"), ("rawloop", f"[yellow]peer: raw aiokafka loop[/] (msgs/s, {HOPS} hops)"),
                       ("quix_noop", f"[yellow]peer: Quix Streams no-op[/] (msgs/s, {HOPS} hops)"),
                       ("embedded_noop_1w", f"no-op pipeline on Tansu (msgs/s, {HOPS} hops)"),
                       ("embedded_rawloop", f"raw aiokafka loop on Tansu (msgs/s, {HOPS} hops)")):
        if key in ph and not ph[key].get("error"):
            p = ph[key]
            t.add_row(label, _fmt(p["per_s"]), "", f"{p['arrived']}/{p['messages']} in {p['seconds']:.2f} s")
    console.print(t)

    lat = ph.get("latency_1w")
    if lat and not lat.get("error"):
        lt = Table(title=f"End-to-end latency at {lat.get('offered_per_s')} articles/s offered (50% of max)",
                   title_justify="left")
        for col in ("count", "p50", "p95", "p99", "max"):
            lt.add_column(col, justify="right")
        L = lat.get("latency", {})
        lt.add_row(str(L.get("count")), *(_fmt(L.get(f"{q}_s"), " s") for q in ("p50", "p95", "p99", "max")))
        console.print(lt)
        if L.get("hops"):
            ht = Table(title="Latency by hop (record timestamp on one topic to the next: fetch, queue, stage)",
                       title_justify="left")
            for col, just in (("hop", "left"), ("p50", "right"), ("p99", "right")):
                ht.add_column(col, justify=just)
            for hop, h in L["hops"].items():
                ht.add_row(hop, _fmt(h.get("p50_s"), " s"), _fmt(h.get("p99_s"), " s"))
            console.print(ht)

    tt = Table(title="Targets", title_justify="left")
    for col in ("measure", "value", "target", "met"):
        tt.add_column(col)
    for key, tg in result.get("targets", {}).items():
        met = tg["met"]
        mark = "[green]yes[/]" if met else ("–" if met is None else f"[red]no[/] ({tg.get('short_by')})")
        tt.add_row(key, _fmt(tg["value"]), tg["target"], mark)
    tt.add_row("dedup index", f"{_fmt(result.get('dedup_index_entries'))} entries, "
               f"{_fmt(result.get('dedup_index_mb'))} MB", "", "")
    console.print(tt)
    if per_article:
        console.print(f"CPU per article of the corpus, in-process: " + ", ".join(
            f"{k} {v:.2f} ms" for k, v in per_article.items()) + f"; bottleneck: [bold]{result.get('bottleneck_stage')}[/]")
    emb = result.get("embedded")
    if emb:
        console.print("Tansu beside Kafka: pipeline " + _fmt(emb.get("articles_per_s")) + " articles/s, no-op "
                      + _fmt(emb.get("noop_msgs_per_s")) + " msgs/s, raw loop " + _fmt(emb.get("rawloop_msgs_per_s"))
                      + " msgs/s, transport ratio " + _fmt(emb.get("transport_ratio")))
    env = result.get("environment", {})
    console.print(f"[dim]{env.get('cpus')} CPUs, load {env.get('loadavg_before')} -> {env.get('loadavg_after')}, "
                  f"Python {env.get('python')}, commit {env.get('git_commit')}, {env.get('wall_s')} s[/]")


def _bar_panel(ax, bars: list[tuple[str, float, str]], ylabel: str, title: str, fmt: str) -> None:
    """One bar chart of (label, value, colour), each bar labelled with its value."""
    ax.bar([b[0] for b in bars], [b[1] for b in bars], color=[b[2] for b in bars])
    ax.tick_params(axis="x", labelsize=7)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    for i, b in enumerate(bars):
        ax.annotate(fmt.format(b[1]), (i, b[1]), ha="center", va="bottom", fontsize=8)


def write_chart(result: dict, path: Path) -> Path | None:
    """Throughput bars (articles/s; msgs/s for the transport pair) and the latency percentiles."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    ph = result.get("phases", {})
    bars: list[tuple[str, float, str]] = []
    if result.get("naive"):
        bars.append(("naive spaCy\nnlp(text)", result["naive"]["articles_per_s"], "#bbbbbb"))
    if result.get("ner_peer"):
        bars.append(("spaCy NER\nnlp.pipe", result["ner_peer"]["articles_per_s"], "#999999"))
    ph = {k: v for k, v in ph.items() if not v.get("error")}
    if "quix_pipeline" in ph:
        bars.append(("Quix\nStreams", ph["quix_pipeline"]["per_s"], "#777777"))
    if "pipeline_1w" in ph:
        bars.append(("newsflow\nKafka", ph["pipeline_1w"]["per_s"], "#1f77b4"))
    if "embedded_pipeline_1w" in ph:
        bars.append(("newsflow\nTansu", ph["embedded_pipeline_1w"]["per_s"], "#aec7e8"))
    if "pipeline_2w" in ph:
        bars.append(("newsflow\n2 workers", ph["pipeline_2w"]["per_s"], "#0b4f8a"))
    if "pipeline_2w_1core" in ph:
        bars.append(("2 workers\n1 core each", ph["pipeline_2w_1core"]["per_s"], "#0b4f8a"))
    if "stages" in result:
        bars.append(("in-process\nchain", result["stages"]["chain_articles_per_s"], "#7fb3d5"))
    tbars = [(lbl, ph[k]["per_s"], col) for k, lbl, col in
             (("noop_1w", "no-op\nKafka", "#2ca02c"), ("rawloop", "raw loop\nKafka", "#bbbbbb"),
              ("quix_noop", "Quix no-op\nKafka", "#777777"),
              ("embedded_noop_1w", "no-op\nTansu", "#98df8a"), ("embedded_rawloop", "raw loop\nTansu", "#dddddd"))
             if k in ph]
    lat = ph.get("latency_1w", {}).get("latency", {})
    ncols = 1 + bool(tbars) + bool(lat.get("count"))
    widths = [max(2, len(bars)) / 2.5] + ([max(2, len(tbars)) / 2.5] if tbars else []) + ([1.3] if lat.get("count") else [])
    fig, axes = plt.subplots(1, ncols, figsize=(2.6 * sum(widths) + 1, 4.4), squeeze=False,
                             gridspec_kw={"width_ratios": widths})
    axes = list(axes[0])
    _bar_panel(axes.pop(0), bars, "articles / s", "Throughput (same articles)", "{:.1f}")
    if tbars:
        _bar_panel(axes.pop(0), tbars, f"messages / s ({HOPS} hops)", "Transport", "{:.0f}")
    if lat.get("count"):
        ax = axes.pop(0)
        qs = ["p50", "p95", "p99"]
        vals = [lat[f"{q}_s"] for q in qs]
        ax.bar(qs, vals, color=["#9467bd", "#8c564b", "#d62728"])
        ax.axhline(0.3, color="k", ls="--", lw=0.8, label="target p99 0.3 s")
        ax.set_ylabel("seconds")
        ax.set_title(f"Latency at {ph['latency_1w']['offered_per_s']:.1f} art/s (50%)")
        ax.legend(fontsize=8)
        for i, v in enumerate(vals):
            ax.annotate(f"{v:.2f}", (i, v), ha="center", va="bottom", fontsize=8)
    c = result.get("corpus", {})
    env = result.get("environment", {})
    fig.suptitle(f"newsflow bench: {c.get('articles')} articles ({c.get('source')}), {env.get('cpus')} CPUs, "
                 f"commit {env.get('git_commit')}", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
