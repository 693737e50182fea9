"""Input streams (appearance, flow, …) registered by name; see base.py for the contract."""

from actcap.features.streams import appearance, flow, pose  # noqa: F401  (registers the streams)
from actcap.features.streams.base import STREAMS, Stream, create_stream, create_streams, list_streams, parse_streams

__all__ = ["STREAMS", "Stream", "create_stream", "create_streams", "list_streams", "parse_streams"]
