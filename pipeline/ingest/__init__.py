"""Ingest: find reports under the raw folder and decode them to text (PDF, Word and HTML via `formats`),
with their titles and dates from the catalogue (`raw/documents.csv`)."""
