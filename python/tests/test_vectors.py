"""Every line of `vectors/decisions.jsonl`, through the package (fast
component), must give its frozen `expect` field for field."""

from __future__ import annotations

from pathlib import Path

from vectors import Replay, lines


def test_every_vector_gives_its_expected_answer(repository: Path, shared: Path) -> None:
    replay = Replay(shared)
    all_lines = lines(repository)
    assert len(all_lines) >= 200
    differ = []
    for line in all_lines:
        got = replay.answer(line)
        if got != line["expect"]:
            differ.append(f"{line['id']}:\n  expected {line['expect']}\n  got      {got}")
    assert not differ, f"{len(differ)} of {len(all_lines)} vectors differ:\n" + "\n".join(differ)


def test_the_vectors_cover_every_kind_of_answer(repository: Path) -> None:
    # The replay above is only as strong as the file: it must hold
    # admissions, refusals, skips, denials and failing bundles.
    expects = [line["expect"] for line in lines(repository)]
    actions = {e.get("action") for e in expects}
    assert {"verify", "skip", "deny", "none"} <= actions
    assert any(e.get("allowed") is True and e.get("verified") for e in expects)
    assert any(e.get("allowed") is False and e.get("action") == "verify" for e in expects)
    assert any(e.get("verified") is False and "check" in e for e in expects)


def test_the_vectors_hold_attestations_sboms_and_findings(repository: Path) -> None:
    by_kind: dict[str, list[dict]] = {}
    for line in lines(repository):
        by_kind.setdefault(line["kind"], []).append(line["expect"])
    assert set(by_kind) == {"decision", "attested", "sbom", "affected", "bundle"}
    assert any(e.get("allowed") is True for e in by_kind["attested"])
    assert any(e.get("allowed") is False and e.get("verified") for e in by_kind["attested"])
    assert any(e.get("packages") for e in by_kind["sbom"])
    assert any("error" in e for e in by_kind["sbom"])
    assert any(e.get("findings") for e in by_kind["affected"])
    assert any("error" in e for e in by_kind["affected"])
