"""The event datasets' specs: sensors, classes and published archives with their checksums.

They live in :mod:`spikekit.data.registry`, next to the image datasets', where
:data:`spikekit.data.DATASETS` lists both kinds; this module names the event part.
"""

from __future__ import annotations

from ..registry import EVENT_DATASETS, EVENT_SPECS, Archive, EventSpec, normalize_event_name

__all__ = ["Archive", "EventSpec", "EVENT_SPECS", "EVENT_DATASETS", "normalize_event_name"]
