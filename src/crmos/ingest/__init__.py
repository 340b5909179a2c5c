"""Ingest: Segment-compatible intake — validation, clock-skew correction, dedupe by messageId,
encryption of personal fields, group commit to the event log, and loss accounting.
"""

from crmos.ingest.accounting import IntakeCollector, SourceStats, intake_stats
from crmos.ingest.messages import Message
from crmos.ingest.normalise import Prepared, Shared, corrected_time, prepare
from crmos.ingest.partitioned import PartitionedRunner
from crmos.ingest.reader import EventReader
from crmos.ingest.service import FileReport, IngestService, MessageValidator
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
    "intake_stats",
    "prepare",
]
