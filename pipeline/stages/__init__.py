"""The stages, one module each, each a pure synchronous function on pydantic records:

- ``parse``: raw text / HTML / JSON -> Article
- ``dedup``: exact and near duplicates, against a DedupIndex
- ``normalize``: typos, broken and glued words, mojibake; every change recorded
- ``tag``: named entities, canonical entities
- ``enrich``: language, keywords, statistics and the other enrichers
"""
