"""Entity tagging (issue #5): canonical entities, country codes, salience, headline and byline guards,
the document-level rules, and the seed article's entities with the shipped model."""

from datetime import datetime, timezone

import pytest
import spacy

from pipeline.stages.tag.entities import build_entities, city_of, clean_spans, country_of
from pipeline.stages.tag.rules import Consistency
from pipeline.stages.normalize import normalize
from pipeline.stages.parse import parse
from pipeline.stages.tag.stage import DEFAULT_MODEL, SHIPPED_MODEL, headline_form, tag, tag_batch
from schemas import Article, RawArticle


def art(title: str, body: str) -> Article:
    return Article(id="t", origin="t", received_at=datetime(2026, 1, 1, tzinfo=timezone.utc), raw_format="text",
                   title=title, body=body)


def test_united_states_variants_are_one_entity():
    spans = [("US", "GPE", 0, 2, "title"), ("U.S.", "GPE", 10, 14, "body"), ("USA", "GPE", 30, 33, "body"),
             ("the United States", "GPE", 40, 57, "body"), ("United States", "GPE", 70, 83, "body")]
    ents = build_entities(spans)
    assert len(ents) == 1
    e = ents[0]
    assert (e.canonical, e.label, e.country_code, e.count) == ("United States", "GPE", "US", 5)


def test_person_mentions_join_full_name():
    spans = [("President Donald Trump", "PERSON", 0, 22, "body"), ("Trump", "PERSON", 40, 45, "body"),
             ("President Trump", "PERSON", 60, 75, "body"), ("Trump", "PERSON", 0, 5, "title")]
    ents = build_entities(spans)
    assert [(e.canonical, e.count) for e in ents] == [("Donald Trump", 4)]


def test_acronym_joins_organization():
    spans = [("North Atlantic Treaty Organization", "ORG", 0, 34, "body"), ("NATO", "ORG", 50, 54, "body")]
    ents = build_entities(spans)
    assert [(e.canonical, e.count) for e in ents] == [("North Atlantic Treaty Organization", 2)]


@pytest.mark.parametrize("name,code", [("Kyiv", "UA"), ("Kiev", "UA"), ("Moscow", "RU"), ("Beijing", "CN"),
                                       ("Paris", "FR"), ("London", "GB")])
def test_city_country_codes(name, code):
    assert city_of(name)[1] == code
    (e,) = build_entities([(name, "GPE", 0, len(name), "body")])
    assert e.country_code == code


@pytest.mark.parametrize("name,canonical,code", [("Russia", "Russia", "RU"), ("Russian Federation", "Russia", "RU"),
                                                 ("Britain", "United Kingdom", "GB"), ("U.S.", "United States", "US"),
                                                 ("Ukraine", "Ukraine", "UA"), ("China", "China", "CN")])
def test_country_names_and_aliases(name, canonical, code):
    assert country_of(name) == (canonical, code)


def test_nationality_carries_country_code():
    (e,) = build_entities([("Ukrainian", "NORP", 0, 9, "body")])
    assert e.country_code == "UA" and e.canonical == "Ukrainian"


def test_title_and_lead_rank_above_passing_mentions():
    spans = [("Zelensky", "PERSON", 0, 8, "title"),                      # title
             ("Acme Corp", "ORG", 5000, 5009, "body"),                    # one passing mention, late
             ("Brussels", "GPE", 20, 28, "body")]                         # lead
    ents = build_entities(spans, lead_end=500)
    assert [e.canonical for e in ents] == ["Zelensky", "Brussels", "Acme Corp"]
    assert ents[0].salience > ents[1].salience > ents[2].salience


def test_bylines_and_category_lines_are_not_entities():
    body = "Eastern Europe Politics USA World\nBy Jane Smith in Kyiv\nOfficials in Kyiv said on Monday that talks resumed."
    spans = [("Eastern Europe Politics USA World", "ORG", 0, 33, "body"), ("Jane Smith", "PERSON", 37, 47, "body"),
             ("Kyiv", "PERSON", 88, 92, "body"), ("Officials in\nKyiv", "ORG", 70, 92, "body")]
    got = clean_spans(spans, "", body)
    assert got == [("Kyiv", "GPE", 88, 92, "body")]


def test_headline_case_is_truecased_with_the_body():
    h = "JAPAN GET LUCKY WIN, CHINA IN SURPRISE DEFEAT AS US AND EU WATCH"
    f = headline_form(h)
    assert len(f) == len(h)
    assert f == "Japan get lucky win, China in surprise defeat as US and EU watch"
    t = "US Initiative Sparks Hope for Ukraine Peace Talks as Europe Hopes to Take Substantial Role"
    body = "The initiative gave hope to people in Ukraine, officials in the US said. Peace talks may follow."
    assert headline_form(t, body) == "US initiative sparks hope for Ukraine peace talks as Europe hopes to take substantial role"
    assert headline_form("Sentence case headline about Trump") == "Sentence case headline about Trump"


def test_document_rules_surname_and_gazetteer_class():
    nlp = spacy.blank("en")
    words = ["Brian", "Lara", "scored", ".", "Lara", "left", "Surrey", "for", "Surrey", "."]
    doc = spacy.tokens.Doc(nlp.vocab, words=words)
    doc.ents = [spacy.tokens.Span(doc, 0, 2, "PERSON"), spacy.tokens.Span(doc, 6, 7, "PERSON"),
                spacy.tokens.Span(doc, 8, 9, "GPE")]
    doc = Consistency({("Surrey",): "ORG"})(doc)
    got = [(e.text, e.label_) for e in doc.ents]
    assert got == [("Brian Lara", "PERSON"), ("Lara", "PERSON"), ("Surrey", "ORG"), ("Surrey", "ORG")]



def _doc(words, ents):
    nlp = spacy.blank("en")
    doc = spacy.tokens.Doc(nlp.vocab, words=words)
    doc.ents = [spacy.tokens.Span(doc, s, e, label) for s, e, label in ents]
    return doc


def test_surname_of_a_tagged_person_is_a_person():
    words = ["Randall", "Cunningham", "retired", ".", "Cunningham", "said", "so", "."]
    doc = Consistency({})(_doc(words, [(0, 2, "PERSON"), (4, 5, "GPE")]))
    assert [(e.text, e.label_) for e in doc.ents] == [("Randall Cunningham", "PERSON"), ("Cunningham", "PERSON")]


def test_label_vote_and_propagation_are_options():
    words = ["Surrey", "beat", "Kent", ".", "Surrey", "won", "and", "Surrey", "lost", ".", "Kent", "."]
    ents = [(0, 1, "ORG"), (2, 3, "ORG"), (4, 5, "ORG"), (7, 8, "GPE")]
    off = Consistency({})(_doc(words, ents))
    assert [(e.text, e.label_) for e in off.ents] == [("Surrey", "ORG"), ("Kent", "ORG"), ("Surrey", "ORG"),
                                                     ("Surrey", "GPE")]
    on = Consistency({}, vote=True, propagate=True)(_doc(words, ents))
    assert [(e.text, e.label_) for e in on.ents] == [("Surrey", "ORG"), ("Kent", "ORG"), ("Surrey", "ORG"),
                                                    ("Surrey", "ORG"), ("Kent", "ORG")]


def test_dateline_place():
    words = ["WIN", ".", "MINSK", "1996-08-30", "A", "senior", "official", "."]
    doc = Consistency({})(_doc(words, []))
    assert [(e.text, e.label_) for e in doc.ents] == [("MINSK", "GPE")]
    words = ["COACH", ".", "NICE", ",", "France", "1996-08-30", "Former", "coach"]
    doc = Consistency({})(_doc(words, [(2, 3, "PERSON"), (4, 5, "GPE")]))
    assert [(e.text, e.label_) for e in doc.ents] == [("NICE", "GPE"), ("France", "GPE")]
    # split by the tokenizer, the date still anchors the dateline; a byline name is not part of it
    nlp = spacy.blank("en")
    doc = Consistency({})(nlp("RESULTS. Larry Fine NEW YORK 1996-08-30 Andre Agassi won."))
    assert [(e.text, e.label_) for e in doc.ents] == [("NEW YORK", "GPE")]


def _ents(doc):
    return [(e.text, e.label_) for e in doc.ents]


def test_boundaries_punctuation_at_the_edges_is_cut():
    words = ["Amnesty", "International", ",", "said", '"', "Oxfam", '"', "and", "Yahoo", "!", "."]
    doc = Consistency({})(_doc(words, [(0, 3, "ORG"), (4, 7, "ORG"), (8, 10, "ORG")]))
    assert _ents(doc) == [("Amnesty International", "ORG"), ("Oxfam", "ORG"), ("Yahoo !", "ORG")]
    # a closing bracket whose opening one is inside the name stays
    words = ["Bank", "(", "Europe", ")", "rose"]
    assert _ents(Consistency({})(_doc(words, [(0, 4, "ORG")]))) == [("Bank ( Europe )", "ORG")]


def test_boundaries_coordinated_names_are_split_but_not_one_name_with_and():
    words = ["Human", "Rights", "Watch", "and", "Freedom", "House", "said", "."]
    assert _ents(Consistency({})(_doc(words, [(0, 6, "ORG")]))) == [("Human Rights Watch", "ORG"),
                                                                    ("Freedom House", "ORG")]
    for words in (["U.S.", "Food", "and", "Drug", "Administration"],
                  ["Institute", "of", "Science", "and", "Technology", "Group"],
                  ["Bosnia", "and", "Herzegovina"]):
        doc = Consistency({})(_doc(words, [(0, len(words), "ORG")]))
        assert _ents(doc) == [(" ".join(words), "ORG")], words


def test_boundaries_acronym_in_parentheses_takes_the_name_class():
    words = ["the", "Social", "Democratic", "and", "Labour", "Party", "(", "SDLP", ")", "won"]
    doc = Consistency({})(_doc(words, [(1, 6, "ORG")]))
    assert _ents(doc) == [("Social Democratic and Labour Party", "ORG"), ("SDLP", "ORG")]
    # the model swallowed the acronym into the name
    doc = Consistency({})(_doc(words, [(1, 9, "ORG")]))
    assert _ents(doc) == [("Social Democratic and Labour Party", "ORG"), ("SDLP", "ORG")]
    # not an acronym: a word in brackets
    doc = Consistency({})(_doc(["Acme", "(", "Holdings", ")"], [(0, 1, "ORG")]))
    assert _ents(doc) == [("Acme", "ORG")]


def test_boundaries_era_after_a_number_is_a_date():
    words = ["Alexander", "died", "in", "321", "BC", "in", "Babylon"]
    doc = Consistency({})(_doc(words, [(0, 1, "PERSON"), (4, 5, "NORP"), (6, 7, "GPE")]))
    assert _ents(doc) == [("Alexander", "PERSON"), ("321 BC", "DATE"), ("Babylon", "GPE")]
    doc = Consistency({}, boundaries=False)(_doc(words, [(4, 5, "NORP")]))
    assert _ents(doc) == [("BC", "NORP")]


def test_training_gazetteer_never_forces_a_town_to_another_class():
    import importlib.util

    spec = importlib.util.spec_from_file_location("gaz", SHIPPED_MODEL.parents[2] / "training/ner/gazetteer.py")
    gaz = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gaz)
    assert gaz._place("Aberdeen") and gaz._place("Chester") and gaz._place("Plymouth")
    assert not gaz._place("Reuters")
    shipped = {tuple(e["words"]): e["label"] for e in
               __import__("json").loads((SHIPPED_MODEL / "gazetteer.json").read_text())["entries"]}
    for town in ("Aberdeen", "Chester", "Exeter", "Sunderland", "Plymouth"):
        assert shipped.get((town,), "GPE") in ("GPE", "LOC", "FAC"), town


# -- with the shipped model -------------------------------------------------------------------------


def test_shipped_model_is_the_default():
    assert (SHIPPED_MODEL / "meta.json").exists()
    assert DEFAULT_MODEL == str(SHIPPED_MODEL)


def test_seed_entities_with_labels(seed_bytes):
    a = tag(normalize(parse(RawArticle.from_bytes(seed_bytes, "seed.txt"))))
    by_name = {e.canonical: e for e in a.entities}
    for person in ("Donald Trump", "Vladimir Putin", "Volodymyr Zelensky", "Pete Hegseth", "Xi Jinping"):
        assert by_name[person].label == "PERSON", person
    for org in ("NATO", "Kremlin", "Al Jazeera"):
        assert by_name[org].label == "ORG", org
    for place, code in (("Ukraine", "UA"), ("Russia", "RU"), ("China", "CN"), ("Kyiv", "UA"), ("Moscow", "RU"),
                        ("Beijing", "CN")):
        assert by_name[place].label == "GPE" and by_name[place].country_code == code, place
    assert by_name["Europe"].label in ("LOC", "GPE")
    us = by_name["United States"]
    assert us.country_code == "US" and us.count >= 5
    assert by_name["Donald Trump"].count >= 5
    # no junk from the category line or the title case
    assert not any("Politics" in e.text or "\n" in e.text for e in a.entities)
    for e in a.entities:
        for m in e.mentions:
            text = a.title if m.field == "title" else a.body
            assert text[m.start:m.end] == m.text
    assert [e.salience for e in a.entities] == sorted((e.salience for e in a.entities), reverse=True)
    top = [e.canonical for e in a.entities[:6]]
    assert "Donald Trump" in top and "Ukraine" in top


def test_all_caps_headline_and_raw_category_line():
    a = art("JAPAN GET LUCKY WIN, CHINA IN SURPRISE DEFEAT",
            "Eastern Europe Politics USA World\n\nJapan beat Syria 2-1 in the Asian Cup in Al Ain on Friday.")
    (out,) = tag_batch([a])
    names = {e.canonical: e for e in out.entities}
    assert names["Japan"].label == "GPE" and names["China"].label == "GPE"
    assert "Eastern Europe Politics USA World" not in names
    assert not any(e.label == "PERSON" for e in out.entities), out.entities


def _in(language: str, title: str, body: str) -> Article:
    return art(title, body).model_copy(update={"language": language})


def test_non_english_article_is_skipped_with_a_reason():
    (de,) = tag_batch([_in("de", "Scholz in Berlin", "Bundeskanzler Olaf Scholz sprach am Montag in Berlin.")])
    assert de.entities == [] and de.skipped["tag"] == "language de is not supported"


def test_french_article_gets_entities_with_ontonotes_labels():
    en = art("Macron visits Berlin", "French President Emmanuel Macron met Olaf Scholz in Berlin on Monday.")
    fr = _in("fr", "Macron à Berlin", "Emmanuel Macron a rencontré Olaf Scholz à Berlin mardi. "
                                     "La Commission européenne et Renault ont réagi.")
    out_en, out_fr = tag_batch([en, fr])
    assert "tag" not in out_fr.skipped
    got = {e.canonical or e.text: e.label for e in out_fr.entities}
    assert got.get("Emmanuel Macron") == "PERSON" and got.get("Olaf Scholz") == "PERSON"
    assert got.get("Berlin") == "GPE" and got.get("Renault") == "ORG", got
    assert {e.label for e in out_fr.entities} <= {"PERSON", "ORG", "GPE", "LOC"}
    # the English article in the same batch still goes through the English model
    assert {e.canonical for e in out_en.entities if e.label == "PERSON"} >= {"Emmanuel Macron", "Olaf Scholz"}
