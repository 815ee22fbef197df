"""Offline knowledge the stages share: languages (``language``) and places (``gazetteer``)."""
