"""SCM actions: lock long-lead material (spec ``scm``)."""

from __future__ import annotations

from pydantic import Field

from crmos.connectors.actions import Params, SpecAction


class LockMaterialParams(Params):
    """Material to lock for an order."""

    material: str = Field(min_length=1, description="Material id (SKU), e.g. steel-coil.")
    quantity: float = Field(gt=0, description="Quantity to lock, in the material's unit.")
    reference: str | None = Field(default=None, description="Business reference (run id).")


class LockMaterial(SpecAction):
    """``scm.lock_material``: lock stock so nobody else sells it; compensation unlocks."""

    name = "scm.lock_material"
    params = LockMaterialParams
    connector = "scm"
    endpoint = "lock_material"
