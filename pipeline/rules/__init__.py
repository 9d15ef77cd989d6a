"""Rules: the YAML files of `rules/`, checked and compiled once into the object every stage receives."""
