"""Ingest: Segment-compatible intake — validation, clock-skew correction, dedupe by messageId,
encryption of personal fields, group commit to the event log, and loss accounting.
"""

from crmos.ingest.accounting import (
    IntakeCollector,
    IntakePoint,
    SourceStats,
    intake_series,
    intake_stats,
)
from crmos.ingest.messages import Message
from crmos.ingest.normalise import Prepared, Shared, corrected_time, prepare
from crmos.ingest.partitioned import PartitionedRunner
from crmos.ingest.reader import EventReader
from crmos.ingest.service import FileReport, IngestService, MessageValidator
from crmos.ingest.shapes import event_shapes, field_types
from crmos.ingest.stream import Consumer, StreamRunner
from crmos.ingest.writer import EventWriter, GroupCommitter, Job, WriteResult

__all__ = [
    "Consumer",
    "EventReader",
    "EventWriter",
    "FileReport",
    "GroupCommitter",
    "IngestService",
    "IntakeCollector",
    "IntakePoint",
    "Job",
    "Message",
    "MessageValidator",
    "PartitionedRunner",
    "Prepared",
    "Shared",
    "SourceStats",
    "StreamRunner",
    "WriteResult",
    "corrected_time",
    "event_shapes",
    "field_types",
    "intake_series",
    "intake_stats",
    "prepare",
]
