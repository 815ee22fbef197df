"""``newsflow eval dedup|stories|enrich|typos|extraction|entities``: the quality (and speed) of a stage on labelled data."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from pipeline.cli.context import DEFAULT_EVAL_DIR, err, out, state
from pipeline.errors import ConfigError, NewsflowError

app = typer.Typer(help="Measure the quality of a stage on labelled data.", no_args_is_help=True)


@app.command("dedup")
def eval_dedup(
    data: Path = typer.Option(DEFAULT_EVAL_DIR, "--data", help="Directory with conll2003-{train,valid,test}.txt "
                              "(default ../shared/eval beside the checkout)."),
    splits: str = typer.Option("valid,test", "--splits", help="CoNLL files to build the set from (train was used to tune)."),
    threshold: Optional[float] = typer.Option(None, "--threshold", help="Near-duplicate threshold (default: settings)."),
    memory_articles: int = typer.Option(20_000, "--memory-articles", help="Index size for the memory measurement."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Precision and recall of dedup on CoNLL-2003 articles with syndicated copies; speed and memory."""
    import json

    from pipeline.measure.eval.dedup import evaluate

    settings = state.settings()
    res = evaluate(data, tuple(s.strip() for s in splits.split(",") if s.strip()),
                   threshold=threshold if threshold is not None else settings.near_duplicate_threshold,
                   containment_threshold=settings.near_containment_threshold, memory_articles=memory_articles)
    if as_json:
        print(json.dumps(res))
        return
    for k, v in res.items():
        out.print(f"{k:32} {v}", markup=False, highlight=False)


@app.command("stories")
def eval_stories(
    data: Optional[Path] = typer.Option(None, "--data", help="Dev set (default devsets/stories-ecbplus.jsonl.xz)."),
    threshold: Optional[float] = typer.Option(None, "--threshold", help="Story threshold (default: settings)."),
    seed: int = typer.Option(23, "--seed", help="Seed of the arrival order."),
    furniture: bool = typer.Option(False, "--furniture", help="Serve the articles from twelve outlets with their page "
                                   "furniture (share bar, playlist, teasers, credits, their city and hospital)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Story pair precision and recall (overall and across outlets) on real news (ECB+), beside the dedup
    stage's key-term clusters (cluster_id) in the same run."""
    import json

    from pipeline.measure.eval.stories import DEFAULT_SET, evaluate
    from pipeline.stages.stories.stage import StoryConfig

    settings = state.settings()
    path = data or DEFAULT_SET
    if not path.is_file():
        raise ConfigError(f"no dev set at {path}: build it with devsets/build_stories.py")
    cfg = StoryConfig(threshold=threshold if threshold is not None else settings.story_threshold,
                      window_s=settings.story_window_days * 86400.0)
    res = evaluate(path, settings=settings, config=cfg, seed=seed, furniture=furniture)
    if as_json:
        print(json.dumps(res))
        return
    rows = ("pair_precision", "pair_recall", "across_outlets_precision", "across_outlets_recall",
            "pairs_predicted", "pairs_wrong", "wrong_same_outlet", "wrong_same_topic", "clusters")
    out.print(f"{res['set']}: {res['articles']} articles, {res['stories_gold']} stories, "
              f"{res['outlets_known']} with a known outlet, seed {res['seed']}", markup=False, highlight=False)
    out.print(f"{'':28} {'stories':>10} {'baseline':>10}", markup=False, highlight=False)
    for k in rows:
        out.print(f"{k:28} {res['stories'][k]:>10} {res['baseline_dedup_cluster_id'][k]:>10}",
                  markup=False, highlight=False)
    out.print(f"{'stories articles/s (1 core)':28} {res['stories_articles_per_s']:>10}", markup=False, highlight=False)
    out.print(f"{'explained share':28} {res['explained_share']:>10}", markup=False, highlight=False)


@app.command("enrich")
def eval_enrich(
    paths: Optional[list[str]] = typer.Argument(None, help="Inputs (default: the bundled samples and the seed article)."),
    articles: int = typer.Option(2000, "--articles", min=1, help="Articles to enrich (the inputs, repeated)."),
    enrichers: Optional[str] = typer.Option(None, "--enrichers", help="Comma-separated enrichers (default all)."),
    quality: bool = typer.Option(True, "--quality/--no-quality",
                                 help="Also score topics, sentiment and language on the development sets."),
    data: Path = typer.Option(DEFAULT_EVAL_DIR, "--data", help="Folder with conll2003-valid.txt (language)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object instead of a table."),
) -> None:
    """Topic, sentiment and language quality on the development sets beside their baselines, and articles
    per second of the whole enrich stage on one core (tagging done once, untimed)."""
    import json

    from pipeline.stages.enrich import REGISTRY
    from pipeline.measure.enrich_speed import run as bench

    names = [s.strip() for s in enrichers.split(",") if s.strip()] if enrichers else None
    unknown = [n for n in names or [] if n not in REGISTRY]
    if unknown:
        raise ConfigError(f"unknown enricher(s) {', '.join(unknown)}; known: {', '.join(REGISTRY)}")
    try:
        res = bench(paths or None, articles=articles, enrichers=names)
        if quality:
            from pipeline.measure.eval.enrich import run as score

            res["quality"] = score(data)
    except (ValueError, OSError) as exc:
        raise ConfigError(str(exc)) from None
    if as_json:
        out.print_json(json.dumps(res))
        return
    if quality:
        from pipeline.measure.eval.enrich import report

        for line in report(res["quality"]):
            out.print(line, markup=False, highlight=False)
    out.print(f"enrich stage: [bold]{res['articles_per_s']}[/] articles/s wall, {res['articles_per_cpu_s']} per CPU-second "
              f"on cpu {res['cpu']} ({res['articles']} articles, {res['distinct_articles']} distinct, "
              f"mean {res['mean_chars']} chars); p50 {res['latency_ms_p50']} ms, p95 {res['latency_ms_p95']} ms")
    out.print("per enricher (CPU ms/article): " + ", ".join(f"{k} {v}" for k, v in res["per_enricher_cpu_ms"].items()))
    out.print(f"data load (gazetteer, lexicon): {res['load_s']} s, once per worker")


@app.command("typos")
def eval_typos(
    data: Path = typer.Option(Path("../shared/eval"), "--data", help="Folder with conll2003-{train,valid,test}.txt."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    seed: int = typer.Option(13, "--seed", help="Seed of the error injection."),
    docs: Optional[int] = typer.Option(None, "--docs", min=1, help="Only the first N documents."),
    split: str = typer.Option("test", "--split", help="CoNLL file to use: test (measured), valid or train (tuning)."),
    examples: bool = typer.Option(False, "--examples", help="Also print missed repairs and wrong changes."),
    pairs: str = typer.Option("codespell", "--pairs", help="Misspellings to inject: codespell (its dictionary) or "
                              "wikipedia (Wikipedia's lists of common misspellings, devsets/wikipedia-misspellings.tsv)."),
    baseline: bool = typer.Option(False, "--baseline", help="Also score plain symspellpy on the same errors."),
) -> None:
    """Typo repair on CoNLL-2003 news with injected misspellings, broken and glued words."""
    import json

    from pipeline.measure.eval.typos import PAIR_SOURCES, EvalDataMissing, clean_page_changes, evaluate, plain_symspell

    if split not in ("test", "valid", "train"):
        err.print(f"[red]error:[/] --split must be test, valid or train, not {split!r}")
        raise typer.Exit(2)
    if pairs not in PAIR_SOURCES:
        err.print(f"[red]error:[/] --pairs must be one of {', '.join(PAIR_SOURCES)}, not {pairs!r}")
        raise typer.Exit(2)
    settings = state.settings()
    from pipeline.stages.normalize import load_custom_words, normalize

    try:
        custom = load_custom_words(settings)
        sc = evaluate(data, split=split, seed=seed, docs=docs, custom_words=custom, pairs_from=pairs)
        base = evaluate(data, split=split, seed=seed, docs=docs, custom_words=custom, pairs_from=pairs,
                        repair=plain_symspell) if baseline else None
        clean = clean_page_changes(lambda a: normalize(a, custom_words=custom))
    except (EvalDataMissing, NewsflowError) as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1)
    res = sc.as_dict()
    res.update(split=split, seed=seed, pairs=pairs)
    res["clean_pages"] = {k: v for k, v in clean.items() if k != "examples" or examples}
    if base is not None:
        res["baseline_plain_symspell"] = base.as_dict()
    if examples:
        res["examples"] = sc.examples
    if as_json:
        print(json.dumps(res))
        return
    out.print(f"[bold]typo repair[/] on CoNLL-2003 {split} ({res['docs']} documents, {res['words']} words, "
              f"{res['injected']} injected errors, seed {seed})")
    for key in ("recall", "precision", "names_changed", "false_per_10k", "wrong_fixes", "tokens_per_s"):
        out.print(f"  {key:14} {res[key]}")
    out.print(f"  recall by kind {res['recall_by_kind']}")
    out.print(f"  misspelling recall by edits {res['misspelling_recall_by_edits']}")
    c = res["clean_pages"]
    out.print(f"  changes to clean news text (extraction dev set, {c['pages']} English pages, {c['words']} words): "
              f"{c['changes']}, {c['changes_per_10k']} per 10,000 words")
    if base is not None:
        b = res["baseline_plain_symspell"]
        out.print("  baseline, plain symspellpy on lower-case words: " + ", ".join(
            f"{k} {b[k]}" for k in ("recall", "precision", "names_changed", "false_per_10k", "tokens_per_s")))
    if examples:
        for bucket, lines in sc.examples.items():
            out.print(f"[bold]{bucket}[/]")
            for line in lines:
                out.print("  " + line, markup=False, highlight=False)


@app.command("extraction")
def eval_extraction(
    data: Optional[Path] = typer.Option(None, "--data", help="Dev set (JSONL, xz): default devsets/extraction.jsonl.xz."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Body and title extraction of the parse stage on real news pages, with trafilatura alone as the baseline."""
    import json

    from pipeline.measure.eval.extraction import DEFAULT_DEVSET, EvalDataMissing, evaluate

    try:
        res = evaluate(data or DEFAULT_DEVSET)
    except EvalDataMissing as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1)
    if as_json:
        print(json.dumps(res, ensure_ascii=False))
        return
    out.print(f"[bold]extraction[/] on {res['newsflow']['pages']} pages of {res['devset']}")
    for name in ("newsflow", "trafilatura", "trafilatura_without_tables"):
        r = res[name]
        out.print(f"  {name:26} body F1 {r['body_f1']}  titles exact {r['titles_exact']} ({r['titles_right']})  "
                  f"{r['ms_per_page']} ms/page")
    for line in res["newsflow"]["wrong_titles"]:
        out.print("  wrong title: " + line, markup=False, highlight=False)


@app.command("entities")
def eval_entities(
    data: Path = typer.Option(Path("../shared/eval"), "--data", help="Folder with conll2003-test.txt (and ner-extra/)."),
    model: str = typer.Option("", "--model", help="A candidate spaCy model (path or package), measured beside the shipped one."),
    baseline: bool = typer.Option(True, "--baseline/--no-baseline", help="Also measure untuned en_core_web_sm."),
    extra: Optional[Path] = typer.Option(None, "--extra", help="Folder of the out-of-domain sets (default: DATA/ner-extra)."),
    max_tokens: int = typer.Option(40000, "--max-tokens", help="Tokens read from each out-of-domain test split (0: all)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Entity F1 on CoNLL-2003 test and each out-of-domain test split (exact span, mapped label), stock vs
    shipped (vs candidate), and the tag stage's tokens per CPU-second, in one run."""
    import json

    from pipeline.measure.eval.entities import evaluate

    test = data / "conll2003-test.txt"
    if not test.exists():
        err.print(f"newsflow: error: {test} not found; the CoNLL-2003 files live in ../shared/eval "
                  "(pass --data DIR)", markup=False, highlight=False)
        raise typer.Exit(2)
    try:
        res = evaluate(data, model=model, baseline=baseline, extra=extra, max_tokens=max_tokens)
    except (OSError, ValueError) as exc:
        err.print(f"newsflow: error: {exc}", markup=False, highlight=False)
        raise typer.Exit(2) from None
    if as_json:
        print(json.dumps(res))
        return
    for col, desc in res["models"].items():
        out.print(f"{col}: {desc}", markup=False, highlight=False)
    cols = res["columns"]
    out.print("entity F1 (exact span, CoNLL classes; P/R in --json)", markup=False, highlight=False)
    out.print(f"{'set':16} {'tokens':>7}  " + "  ".join(f"{c:>{max(len(c), 6)}}" for c in cols),
              markup=False, highlight=False)
    for name, row in res["sets"].items():
        cells = "  ".join(f"{row['scores'][c]['f1']:>{max(len(c), 6)}.3f}" for c in cols)
        out.print(f"{name:16} {row['tokens']:>7}  {cells}", markup=False, highlight=False)
    ood = [r for n, r in res["sets"].items() if n != "conll2003-test"]
    if ood:
        cells = "  ".join(f"{sum(r['scores'][c]['f1'] for r in ood) / len(ood):>{max(len(c), 6)}.3f}" for c in cols)
        out.print(f"{'mean of OOD':16} {'':>7}  {cells}", markup=False, highlight=False)
    for col, sp in res["speed"].items():
        out.print(f"tag stage speed, {col}, one thread: {sp['tokens_per_s']:,} tokens per CPU-second "
                  f"({sp['tokens_per_wall_s']:,} per wall-clock second)", markup=False, highlight=False)
