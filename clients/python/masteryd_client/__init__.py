"""masteryd_client: a small Python client for masteryd (ZeroMQ + protobuf).

    from masteryd_client import Client
    with Client("tcp://127.0.0.1:7411") as md:
        md.submit_evidence("quiz-77-s1001-q3", "s-1001", "frac.equivalent", 0.92)
"""
__version__ = "0.1.0"

from .client import (DEFAULT_ENDPOINT, EVENT_KINDS, MAX_BATCH, Client, EventStream,
                     resolve_events_endpoint)
from .errors import (ConflictError, ConnectionTimeout, DataLossError, ForbiddenError, GoneError,
                     InternalError, InvalidError, MasterydError, NotFoundError, UnauthenticatedError,
                     UnavailableError)
from .keys import curve_keys_from_files
from .models import (BatchResult, CompetencyState, CredentialDocument, CredentialInfo, Event,
                     EvidencePage, FrameworkDocument, FrameworkInfo, FrameworkState, Health,
                     ImportCaseResult, ItemResult, LearnerState, StoredEvidence, Transcript,
                     NextStep, LockedStep, NextSteps, ExplainedItem, Explanation)
from .models import (AtRiskLearner, CompetencySummary, Group, GroupReport, LearnerRow,
                     RosterClass, RosterResult)
from .models import ErasureReceipt, LegalHoldResult, ReenrolResult

__all__ = ["Client", "resolve_events_endpoint", "curve_keys_from_files", "EventStream", "DEFAULT_ENDPOINT", "EVENT_KINDS",
           "MAX_BATCH", "MasterydError", "InvalidError", "NotFoundError", "ConflictError",
           "UnavailableError", "ForbiddenError", "UnauthenticatedError", "InternalError",
           "DataLossError", "ConnectionTimeout", "BatchResult", "ItemResult", "CompetencyState", "FrameworkState",
           "LearnerState", "FrameworkInfo", "FrameworkDocument", "StoredEvidence", "Health",
           "Event", "ImportCaseResult", "CredentialInfo", "CredentialDocument", "EvidencePage",
           "Transcript", "RosterClass", "RosterResult", "Group", "GroupReport",
           "CompetencySummary", "AtRiskLearner", "LearnerRow",
           "NextStep", "LockedStep", "NextSteps", "ExplainedItem", "Explanation",
           "GoneError", "ErasureReceipt", "LegalHoldResult", "ReenrolResult"]
