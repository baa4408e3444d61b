"""Helpers shared by the Nova routes: microversion gates, marker/limit paging, times."""

import datetime
from urllib.parse import urlencode

from .rest import ApiError


def need(req, v):
    """Below the microversion that introduced a route, Nova answers 404."""
    if req.microversion < v:
        raise ApiError(404, "The resource could not be found.")


def limit_of(req):
    lim = req.q("limit")
    if lim is None:
        return None
    try:
        n = int(lim)
        if n < 0:
            raise ValueError
        return n
    except ValueError:
        raise ApiError(400, f"Invalid input for query parameters limit. Value: {lim}.")


def page(items, req, key, marker_of, link_path, links_key):
    """Nova-style marker/limit paging; adds a 'next' link when the page is full."""
    marker = req.q("marker")
    if marker is not None:
        idx = next((i for i, it in enumerate(items) if marker_of(it) == marker), None)
        if idx is None:
            raise ApiError(400, f"Marker {marker} could not be found.")
        items = items[idx + 1:]
    limit = limit_of(req)
    out = {}
    if limit is not None:
        items = items[:limit]
        if limit and len(items) == limit:
            q = {k: v[-1] for k, v in req.query.items() if k != "marker"}
            q["marker"] = marker_of(items[-1])
            out[links_key] = [{"href": f"{req.base_url}/compute/v2.1/{link_path}?{urlencode(q)}",
                               "rel": "next"}]
    return items, out


def parse_time(val, key):
    try:
        d = datetime.datetime.fromisoformat(val.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(400, f"Invalid input for query parameters {key}. Value: {val}.")
    if d.tzinfo is None:
        d = d.replace(tzinfo=datetime.timezone.utc)
    return d.timestamp()
