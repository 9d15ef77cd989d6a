"""Text: the normalised form stages read (with a map back to raw offsets), its sentences and
clauses, and the windows a long report is cut into."""
