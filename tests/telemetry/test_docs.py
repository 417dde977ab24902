from pathlib import Path

from huntwatch.telemetry.docs import schema_markdown


def test_docs_schema_md_is_generated_from_the_code() -> None:
    committed = (Path(__file__).resolve().parents[2] / "docs" / "schema.md").read_text()
    assert committed == schema_markdown(), "run: huntwatch schema docs > docs/schema.md"
