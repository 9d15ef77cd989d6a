"""Views over a published version: the static review site and the DuckDB views, built in a process of
their own."""
