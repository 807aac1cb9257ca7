"""The staff look-up's search: the analyzer (Sudachi terms) and the BM25 index over FAQ entries and
presentation passages."""
