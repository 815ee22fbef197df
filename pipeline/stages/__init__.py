"""The stages, each a pure synchronous function on pydantic records, with its state and helpers beside it:

- ``parse``: raw text / HTML / JSON -> Article
- ``dedup/``: exact and near duplicates (``stage``), against a DedupIndex (``index``)
- ``normalize``: typos, broken and glued words, mojibake; every change recorded
- ``tag/``: named entities (``stage``), canonical entities (``entities``), document rules (``rules``), the
  child processes that run the model (``process``)
- ``enrich/``: the enrichers, one module each, run by ``stage`` in ``registry`` order

``chain`` runs them: ``Pipeline.apply`` (one stage on a batch) and ``Pipeline.run`` (several in a row).
"""
