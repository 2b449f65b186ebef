"""RESULTS.md from the results of one run (``document.write_report``): the header, the
targets judged, what bounds each miss, then one section per measurement."""
