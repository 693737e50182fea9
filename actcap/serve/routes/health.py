"""GET /health and GET /labels: what the service has loaded, its limits, and the classes it knows."""

from __future__ import annotations

from fastapi import APIRouter

from actcap import __version__
from actcap.caption import caption_for
from actcap.serve.schemas import Health, Labels, Limits
from actcap.serve.service import ServiceDep

router = APIRouter()


@router.get("/health", response_model=Health)
def health(service: ServiceDep) -> dict:
    """Whether the model is loaded and warmed up, which model it is, and the service's limits."""
    p, cfg = service.predictor, service.settings
    return {"status": "ready", "model": p.name, "classes": len(p.classes),
            "num_frames": p.num_slots, "streams": [st.name for st in p.streams],
            "live_streams": service.live_streams, "version": __version__,
            "limits": Limits(max_frames=cfg.max_frames, max_upload_mb=cfg.max_upload_mb,
                             max_pixels=cfg.max_pixels, max_streams=cfg.max_streams)}


@router.get("/labels", response_model=Labels)
def labels(service: ServiceDep) -> dict:
    """The classes the model knows, in its output order, with the sentence said for each."""
    p = service.predictor
    return {"labels": p.classes,
            "captions": {c: caption_for([(c, 1.0)], p.captions, p.policy) for c in p.classes}}
