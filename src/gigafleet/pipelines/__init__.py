"""Compositions of the pure models (perf + energy + reliability + cost) into the reports
that every face uses: ``gigafleet train`` / ``serve`` / ``plan`` and the scenario engine
call these, so a chain of models is written once. Nothing here prints."""
