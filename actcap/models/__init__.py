"""Backbones (frame CNNs) and temporal heads, each from a registry of valid names."""

from actcap.models.backbones import (
                                     BackboneUnavailableError,
                                     create_backbone,
                                     get_backbone_spec,
                                     list_available_backbones,
                                     list_backbones,
)
from actcap.models.heads import create_head, list_heads

__all__ = ["BackboneUnavailableError", "create_backbone", "get_backbone_spec", "list_available_backbones",
           "list_backbones", "create_head", "list_heads"]
