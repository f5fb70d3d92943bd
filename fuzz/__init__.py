"""Coverage-guided fuzzing of the library's parsers with atheris (see docs/fuzzing.md)."""
