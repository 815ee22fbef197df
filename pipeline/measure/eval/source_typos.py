"""Misspellings already in the CoNLL-2003 text (test and valid splits), annotated by hand.

How the list was made, from the source text alone (normalize's output plays no part in it):
every token of ``conll2003-test.txt`` and ``conll2003-valid.txt`` outside entities, alphabetic, three
letters or more, that symspellpy's bundled dictionary lacks, was listed (test: 96 distinct tokens,
valid: 99) and read in its sentence. A token that is plainly a misspelling of one word (or of two words
glued together) is listed in ``SOURCE_TYPOS`` with the text meant; every other token is in ``NOT_TYPOS``
(abbreviations, names CoNLL does not tag, closed compounds, jargon, American spellings, plurals), and a
change to one of those stays a false change. Tokens whose meaning is not clear (``BASKETBALLSOCCER``)
are in neither list and any change to them is false too.

The typo evaluation counts a change to an untouched word as right only when it turns one of these
tokens into exactly the text meant, the same rule it applies to codespell's own pairs.
"""

from __future__ import annotations

SOURCE_TYPOS: dict[str, str] = {
    # test
    "attendence": "attendance",
    "awared": "awarded",
    "breakman": "brakeman",
    "commerical": "commercial",
    "compnay": "company",
    "cybersppace": "cyberspace",
    "exhuberant": "exuberant",
    "germay": "germany",
    "healines": "headlines",
    "intriuguing": "intriguing",
    "isreserving": "is reserving",
    "knwon": "known",
    "lealgue": "league",
    "meadiation": "mediation",
    "narcissitic": "narcissistic",
    "offcial": "official",
    "profesionalism": "professionalism",
    "signigicantly": "significantly",
    "sojurn": "sojourn",
    "traecheotomy": "tracheotomy",
    "unlikley": "unlikely",
    # valid
    "attendancce": "attendance",
    "avacados": "avocados",
    "becuase": "because",
    "bordder": "border",
    "breakway": "breakaway",
    "brusing": "bruising",
    "capabilites": "capabilities",
    "capabilties": "capabilities",
    "carqo": "cargo",
    "committment": "commitment",
    "couterpart": "counterpart",
    "haltime": "halftime",
    "infrastruture": "infrastructure",
    "insistance": "insistence",
    "intinerary": "itinerary",
    "nothern": "northern",
    "phenomenom": "phenomenon",
    "poiunts": "points",
    "setttlements": "settlements",
    "spokeman": "spokesman",
    "succesively": "successively",
    "targest": "targets",
    "une": "june",
    "unifed": "unified",
}

NOT_TYPOS: frozenset[str] = frozenset("""
aaa afc arbitrales btps babri bunds cst cwb camaras curr eps gdp gdr geepee hansenne imc labor lezion lst
luebke markein masisi midcontinent nfc ngos starbuck sunseeds tbn usg windass ytd absentia airdrops
bombmaker breathalyse cif crudes defenceman deferreds disharmonies fio forex gasoil gigajoule gunbattles
hardline hitman kilometers kms kroons lackluster mln mmbtu motorsports muni natgas newsdesk
outpointed playmaker reais refueling reinsurer rightwing roadmaps rulebooks saviors selectorial shinc
steelmaking taxidriver timecharter unq unspayed untraded
btp ceo cpn cusip comex cotti dtd edt fim gdrs hmgt ias ipo isdn jansher matif nbp nic nymex nato pibor
pmi presale qual repo rumors skr shrs timor wbo airforce birdying bln bogeying boomtown briskest coolish
dishoarding dtp eagled extraordinaries hitless initialed initialling leadframes leadoff leveled machinegun
mins munibonds nondurables parring pediatricians pedophilia prix redemptions retracement seamer seatbelts
soymeal tipoffs trendline
""".split()) - frozenset(SOURCE_TYPOS)
