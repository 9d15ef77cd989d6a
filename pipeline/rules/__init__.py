"""Rules: the YAML files of `rules/`, checked and compiled once into the object every stage receives.

`files` reads one file with line numbers; `figure_rules`, `word_rules` and
`region_rules` turn entries into typed records; `patterns` builds and bounds
the regular expressions; `compiler` is the one step that makes `Rules`
(`from pipeline.rules.compiler import load_rules`).
"""
