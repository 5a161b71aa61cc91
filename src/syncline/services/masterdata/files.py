"""The master-data file (YAML, SYNCLINE_MASTER_DATA): read here, validated by the pure
``domain.masterdata``; every problem named with its place."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from syncline.domain.masterdata import MasterDataProblem, reference_from_dict
from syncline.domain.reference import DEFAULT_REFERENCE, ReferenceData


class MasterDataInvalid(ValueError):
    """A master-data document that cannot be used; ``problems`` says where and why."""

    def __init__(self, source: str, problems: tuple[MasterDataProblem, ...]) -> None:
        self.source = source
        self.problems = problems
        listed = "; ".join(str(p) for p in problems)
        super().__init__(f"master data {source} is invalid: {listed}")

    def as_list(self) -> list[dict[str, str]]:
        return [{"where": p.where, "message": p.message} for p in self.problems]


def read_document(path: str | Path) -> Any:
    """The parsed YAML (or JSON) of ``path``; MasterDataInvalid when it cannot be read."""
    p = Path(path)
    try:
        return yaml.safe_load(p.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise MasterDataInvalid(str(p), (MasterDataProblem(str(p), f"cannot read: {exc}"),)
                                ) from None


def load_master_data(path: str | Path) -> ReferenceData:
    """Read and validate a master-data file; MasterDataInvalid names every problem."""
    made = reference_from_dict(read_document(path))
    if isinstance(made, tuple):
        raise MasterDataInvalid(str(path), made)
    return made


def master_data_for(path: str | Path | None) -> ReferenceData:
    """The seed: the file at ``path``, or the built-in firm without one."""
    return load_master_data(path) if path else DEFAULT_REFERENCE
