"""Figures: numbers with their scale words and units, ranks and fractions, in prose and in table cells."""
