"""Recommendations for one request from a loaded artifact, with the reason for each item."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from engine.blend import attribute, mix, to_blend_space
from engine.protocol import TargetKind

__all__ = ["RequestError", "recommend_for_request"]

MAX_K = 1000
REQUEST_FIELDS = frozenset({"user_id", "history", "k", "exclude_seen"})


class RequestError(ValueError):
    """A request is malformed or names ids the model does not know."""


def _history_row(state: dict, request: dict[str, Any]) -> tuple[sp.csr_matrix, str]:
    index = state["index"]
    if request.get("history") is not None:
        history = request["history"]
        if not isinstance(history, list) or not history:
            raise RequestError("`history` must be a non-empty list of item ids, for example [\"85123A\", \"71053\"]")
        known = index.items.get_indexer([str(item) for item in history])
        unknown = [str(item) for item, position in zip(history, known) if position < 0]
        if unknown:
            raise RequestError(f"unknown item ids in history: {unknown[:5]}; use ids from the catalog the model was trained on")
        row = sp.csr_matrix((np.ones(len(known), dtype=np.float32), (np.zeros(len(known), dtype=int), known)), shape=(1, index.n_items))
        row.sum_duplicates()
        row.data[:] = 1.0
        return row, "request history"

    if "user_id" not in request:
        raise RequestError("the request needs `user_id` (a known user) or `history` (a list of item ids for a new user), for example user_id=12748")
    user_id = str(request["user_id"])
    position = index.users.get_indexer([user_id])[0]
    if position < 0:
        raise RequestError(
            f"user_id {user_id!r} was not in the training data; send `history` (a list of item ids) to recommend for a new user"
        )
    return state["history"][position], "training history"


def _explained_items(model, row: sp.csr_matrix, item: int, items, top: int = 3) -> list[dict[str, Any]]:
    return [
        {"item_id": str(items.at[int(source), "item_id"]), "text": str(items.at[int(source), "text"]), "weight": round(float(weight), 4)}
        for source, weight in model.explain(row, int(item), top=top)
    ]


def recommend_for_request(bundle, request: dict[str, Any]) -> dict[str, Any]:
    """Return the top-k items for a user (or for a new user's item history) with explanations.

    Each item carries its blended score, alpha, each side's per-user z-score, which side drove it,
    the user's own items that drove the collaborative score and the history items closest by text.
    """
    if not isinstance(request, dict):
        raise RequestError(f"a request must be a JSON object; got {type(request).__name__}")
    unknown = sorted(set(request) - REQUEST_FIELDS)
    if unknown:
        raise RequestError(f"unknown request field(s) {unknown}; valid fields: {sorted(REQUEST_FIELDS)}")
    if request.get("user_id") is not None and request.get("history") is not None:
        raise RequestError("send either `user_id` (a known user) or `history` (item ids of a new user), not both")
    k = request.get("k", bundle.domain.config.k)
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise RequestError(f"`k` must be an integer between 1 and {MAX_K}; got {k!r}")

    state = bundle.state
    items = state["items"]
    row, source = _history_row(state, request)
    exclude = row if request.get("exclude_seen", True) else None

    deep = to_blend_space(bundle.models["deep"].score(row), TargetKind.RANKING, exclude)
    classic_scores = bundle.models["classic"].score(row).astype(np.float64)
    classic_scores[:, items["train_count"].to_numpy() == 0] = np.nan  # no collaborative signal on never-seen items
    classic = to_blend_space(classic_scores, TargetKind.RANKING, exclude)
    context = {
        "log_user_history": np.array([[np.log1p(row.nnz)]]),
        "log_item_popularity": np.log1p(items["train_count"].to_numpy(dtype=np.float64))[None, :],
    }
    blender = bundle.blender
    alpha = np.broadcast_to(blender.alpha(context), deep.shape)
    blended = mix(alpha, deep, classic)
    candidates = int(np.isfinite(blended).sum())
    if candidates == 0:
        raise RequestError("no candidate items are left once the user's own items are excluded")

    order = np.argsort(-np.nan_to_num(blended[0], nan=-np.inf), kind="stable")[: min(k, candidates)]
    recommendations = []
    for item in order:
        reason = attribute(float(deep[0, item]), float(classic[0, item]), float(alpha[0, item]))
        recommendations.append({
            "item_id": str(items.at[int(item), "item_id"]),
            "text": str(items.at[int(item), "text"]),
            "score": round(float(blended[0, item]), 4),
            "train_count": int(items.at[int(item), "train_count"]),
            **{key: round(value, 4) if isinstance(value, float) else value for key, value in reason.items()},
            "because_you_bought": _explained_items(bundle.models["classic"], row, item, items),
            "similar_by_text": _explained_items(bundle.models["deep"], row, item, items),
        })
    return {
        "user_id": str(request.get("user_id", "")) or None,
        "history_source": source,
        "history_size": int(row.nnz),
        "blender": bundle.selected,
        "items": recommendations,
    }
