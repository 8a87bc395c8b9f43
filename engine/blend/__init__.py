"""Blend deep and classic outputs: scales, fixed and context-dependent alpha, attribution."""

from engine.blend.blenders import ContextAlphaBlender, FixedAlphaBlender, blender_from_dict, mix
from engine.blend.explain import attribute
from engine.blend.scale import to_blend_space, to_natural

__all__ = [
    "ContextAlphaBlender",
    "FixedAlphaBlender",
    "blender_from_dict",
    "mix",
    "attribute",
    "to_blend_space",
    "to_natural",
]
