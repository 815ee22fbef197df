"""Language detection: English full of names, tickers and numbers stays English; other languages are
still recognised; tables of names are not guessed."""

import pytest

from pipeline.knowledge.language import _lingua, detect, english_share, is_english_word, lower_words

NAMED_ENGLISH = [
    "Oy Saunalahti Ab and Elisa Oyj said net sales rose to EUR 12.3 mn in the quarter.",
    "Kesko Oyj's unit Rautakesko signed a deal with Byggmakker Handel AS in Norway.",
    "JP Morgan cut its target for Nokian Renkaat to 24 euros from 27 euros.",
    "Aktia Bank plc will pay Sampo Pankki Oyj a fee of SEK 1.5 bln for the portfolio.",
    "Ulsan Hyundai beat Pohang Steelers 3-1 at Munsu on Sunday.",
    "Cosmin Contra and Mihai Tararache scored for Romania against Lithuania.",
]

FOREIGN = [
    ("de", "Der Bundestag hat am Donnerstag das neue Gesetz zur Rente beschlossen."),
    ("de", "Die Aktie von Siemens Energy stieg um 5 Prozent nach den Quartalszahlen."),
    ("fr", "La Bourse de Paris a terminé en baisse de 1,2 % vendredi."),
    ("es", "Los bomberos trabajan para controlar el incendio forestal en Valencia."),
    ("nl", "Het kabinet wil de belasting op arbeid verlagen, zegt minister Kaag."),
    ("it", "Il governo italiano ha approvato la legge di bilancio per il prossimo anno."),
    ("pt", "O presidente Lula disse que o Brasil vai aumentar os investimentos em energia."),
    ("sv", "Polisen grep två män efter skottlossningen i centrala Malmö."),
    ("ru", "Правительство объявило о новых мерах поддержки экономики."),
]


@pytest.mark.parametrize("text", NAMED_ENGLISH)
def test_english_with_names_and_tickers_is_english(text):
    assert detect(text)[0] == "en"


def test_lingua_alone_misreads_some_of_them():
    # the reason for the dictionary step: a trigram model reads the names, not the sentence
    assert any(_lingua(t)[0] != "en" for t in NAMED_ENGLISH)


@pytest.mark.parametrize("lang,text", FOREIGN)
def test_other_languages_are_still_recognised(lang, text):
    assert detect(text)[0] == lang


def test_foreign_function_words_are_not_english_words():
    # all of these are in wordfreq's English list, but far more frequent in their own language
    assert not any(map(is_english_word, ["die", "der", "la", "les", "de", "el", "het", "che"]))
    assert all(map(is_english_word, ["the", "said", "profit", "fell", "on", "at", "beat"]))


def test_names_and_numbers_are_no_evidence():
    assert lower_words("Nokia Oyj's EBIT 12.3 EUR rose") == ["rose"]
    assert english_share([]) == 0.0


def test_all_capitals_headline_reads_its_words():
    assert detect("SOCCER - ROMANIA BEAT LITHUANIA IN UNDER-21 MATCH .")[0] == "en"


def test_results_table_is_english_or_unknown_never_a_guess():
    for table in ("Anthony Hill ( Australia ) beat Dan Jenson ( Australia ) 15-9 15-8 15-17 17-15",
                  "Pohang 3 Ulsan 2 ( halftime 1-0 )"):
        assert detect(table)[0] in ("en", None)


def test_empty_text():
    assert detect("   ") == (None, None)
