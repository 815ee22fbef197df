"""The benchmark's arithmetic: percentiles, targets, profile summary, JSON keys."""

from pipeline.measure.bench.report import HEADLINE_KEYS, ordered
from pipeline.measure.bench.runner import latency_summary, summarize, summarize_collapsed


def test_latency_percentiles():
    lat = [i / 100 for i in range(1, 101)]
    s = latency_summary(lat)
    assert s["count"] == 100 and abs(s["p50_s"] - 0.505) < 0.01 and 0.98 <= s["p99_s"] <= 1.0
    assert latency_summary([])["count"] == 0


def test_summary_ratios_and_targets():
    r = {"naive": {"articles_per_s": 10.0}, "ner_peer": {"articles_per_s": 20.0},
         "stages": {"dedup_index_entries": 5, "dedup_index_mb": 0.1, "dedup_index_bytes_per_article": 700.0},
         "phases": {"pipeline_1w": {"per_s": 25.0, "peak_rss_mb": [900.0]},
                    "pipeline_2w": {"per_s": 40.0, "peak_rss_mb": [800.0, 2000.0]},
                    "latency_1w": {"offered_per_s": 12.5, "latency": {"p50_s": 0.2, "p95_s": 0.4, "p99_s": 0.6}},
                    "noop_1w": {"per_s": 300.0}, "rawloop": {"per_s": 500.0}}}
    s = summarize(r)
    assert s["ratio_vs_naive"] == 2.5 and s["ratio_vs_ner_peer"] == 1.25
    assert s["transport_ratio"] == 0.6 and s["scaling_2_workers"] == 1.6
    assert s["peak_rss_mb"] == 2000.0
    t = s["targets"]
    assert "ratio_vs_naive" not in t  # issue 9's target; issue 22 measures against the NER-only peer
    assert not t["ratio_vs_ner_peer"]["met"] and t["ratio_vs_ner_peer"]["short_by"] == "17% below"
    assert not t["transport_ratio"]["met"] and t["transport_ratio"]["short_by"] == "25% below"
    assert not t["noop_msgs_per_s"]["met"]
    assert not t["scaling_2_workers"]["met"] and t["scaling_2_workers"]["short_by"] == "11% below"
    assert not t["latency_p99_s"]["met"] and t["latency_p99_s"]["short_by"] == "100% above"
    assert not t["peak_rss_mb"]["met"] and not t["dedup_index_bytes_per_article"]["met"]
    assert "embedded" not in s  # no Tansu phases ran
    assert list(ordered({**s, "phases": {}}))[: len(HEADLINE_KEYS)] == list(HEADLINE_KEYS)


def test_tansu_figures_sit_beside_kafkas():
    r = {"ner_peer": {"articles_per_s": 10.0}, "stages": {},
         "phases": {"pipeline_1w": {"per_s": 16.0}, "noop_1w": {"per_s": 800.0}, "rawloop": {"per_s": 1000.0},
                    "embedded_pipeline_1w": {"per_s": 20.0}, "embedded_noop_1w": {"per_s": 450.0},
                    "embedded_rawloop": {"per_s": 900.0}}}
    s = summarize(r)
    assert s["transport_ratio"] == 0.8 and s["targets"]["transport_ratio"]["met"]
    assert s["embedded"] == {"articles_per_s": 20.0, "noop_msgs_per_s": 450.0, "rawloop_msgs_per_s": 900.0,
                             "transport_ratio": 0.5, "ratio_vs_ner_peer": 2.0}


def test_stage_cpu_per_article_names_the_bottleneck(tmp_path):
    from pipeline.measure.bench.corpus import generate
    from pipeline.measure.bench.runner import measure_stages
    from pipeline.settings import Settings

    corpus = generate(12, 3, None)
    st, parsed = measure_stages(corpus, Settings(stages=["parse", "dedup", "normalize", "tag", "enrich"]))
    per = st["cpu_ms_per_article"]
    assert list(per) == ["parse", "dedup", "normalize", "tag", "enrich"]
    assert all(v >= 0 for v in per.values()) and per["tag"] > 0
    assert st["bottleneck"] == max(per, key=per.get)
    assert abs(st["chain_cpu_ms_per_article"] - sum(per.values())) < 0.05
    assert summarize({"stages": st, "phases": {}})["bottleneck_stage"] == st["bottleneck"]


def test_profile_summary_charges_samples_to_stages():
    text = ("thread (0x1);run (threading.py:1);tag_batch (pipeline/stages/tag/stage.py:10);pipe (spacy/language.py:5) 30\n"
            "thread (0x1);run (threading.py:1);normalize (pipeline/stages/normalize.py:3) 10\n"
            "thread (0x2);_run_once (asyncio/base_events.py:1);getmany (aiokafka/consumer/consumer.py:9) 10\n")
    s = summarize_collapsed(text)
    assert s["samples"] == 50
    assert s["share"] == {"tag: spaCy NER": 0.6, "normalize": 0.2, "transport: aiokafka": 0.2}


def test_hop_summary_splits_end_to_end_time_by_topic():
    from pipeline.measure.bench.runner import hop_summary

    stamps = {f"o{i}": {"a": 0.0, "b": 0.01 * (i + 1), "c": 0.01 * (i + 1) + 0.2} for i in range(100)}
    stamps["partial"] = {"a": 0.0}  # never got past the first topic: left out of every hop
    hops = hop_summary(stamps, ("a", "b", "c"))
    assert list(hops) == ["a->b", "b->c"]
    assert hops["a->b"]["count"] == 100
    assert hops["a->b"]["p50_s"] == 0.51 and hops["a->b"]["p99_s"] == 1.0
    assert abs(hops["b->c"]["p50_s"] - 0.2) < 1e-9 and abs(hops["b->c"]["p99_s"] - 0.2) < 1e-9


def test_scaling_uses_the_pinned_phases_when_they_ran():
    base = {"naive": {"articles_per_s": 5.0}, "stages": {},
            "phases": {"pipeline_1w": {"per_s": 12.0}, "pipeline_2w": {"per_s": 12.0}}}
    s = summarize(base)
    assert s["scaling_2_workers"] == 1.0 and s["scaling_basis"] == "unpinned"
    base["phases"].update({"pipeline_1w_1core": {"per_s": 7.0}, "pipeline_2w_1core": {"per_s": 12.6}})
    s = summarize(base)
    assert s["scaling_2_workers"] == 1.8 and s["scaling_basis"].startswith("one core per worker")
    assert s["scaling_2_workers_unpinned"] == 1.0 and s["ratio_vs_naive_1core"] == 1.4
    assert s["targets"]["scaling_2_workers"]["met"]
