"""Plain dataclasses returned by the client (no protobuf objects leak out)."""
import datetime
import json
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from .errors import error_for


def ms_to_datetime(ms):
    """Unix milliseconds -> aware UTC datetime; None for 0 (never)."""
    if not ms:
        return None
    return datetime.datetime.fromtimestamp(ms / 1000.0, tz=datetime.timezone.utc)


@dataclass(frozen=True)
class ItemResult:
    """The daemon's answer for one submitted evidence item.

    code is "OK" (stored), "DUPLICATE" (already stored with the same content: also
    acknowledged) or an error name ("INVALID", "NOT_FOUND", "CONFLICT", ...), with field (e.g.
    "items[1500].score", indexed in the list you passed) and message.
    """
    evidence_id: str
    code: str
    field: str = ""
    message: str = ""

    @property
    def acknowledged(self) -> bool:
        """Durably stored (now or before)."""
        return self.code in ("OK", "DUPLICATE")

    @property
    def error(self):
        """The typed error (InvalidError, ...) for a rejected item; None when acknowledged."""
        return None if self.acknowledged else error_for(self.code, self.message, self.field)


class BatchResult(list):
    """A list of ItemResult, one per item in the order given, with counts."""

    @property
    def accepted(self) -> int:
        return sum(1 for r in self if r.code == "OK")

    @property
    def duplicates(self) -> int:
        return sum(1 for r in self if r.code == "DUPLICATE")

    @property
    def rejected(self) -> List[ItemResult]:
        return [r for r in self if not r.acknowledged]

    @property
    def ok(self) -> bool:
        """Every item acknowledged."""
        return all(r.acknowledged for r in self)


@dataclass(frozen=True)
class CompetencyState:
    competency: str
    status: str               # "LOCKED", "UNLOCKED" or "MASTERED"
    score: float              # the rule's current value (reported even after mastery)
    evidence_count: int
    unlocked_at_ms: int = 0   # 0: not unlocked
    mastered_at_ms: int = 0   # 0: not mastered
    overridden: bool = False  # the status was set by a teacher override
    rule_met: bool = False    # the rule is met by the evidence right now

    @property
    def mastered(self) -> bool:
        return self.status == "MASTERED"

    @property
    def unlocked_at(self) -> Optional[datetime.datetime]:
        return ms_to_datetime(self.unlocked_at_ms)

    @property
    def mastered_at(self) -> Optional[datetime.datetime]:
        return ms_to_datetime(self.mastered_at_ms)


@dataclass(frozen=True)
class FrameworkState:
    framework: str
    revision: int
    competencies: List[CompetencyState] = field(default_factory=list)

    def get(self, competency: str) -> Optional[CompetencyState]:
        for c in self.competencies:
            if c.competency == competency:
                return c
        return None


@dataclass(frozen=True)
class LearnerState:
    learner: str
    frameworks: List[FrameworkState] = field(default_factory=list)

    def get(self, competency: str, framework: Optional[str] = None) -> Optional[CompetencyState]:
        """The competency's state (in the given framework, else the first that has it)."""
        for fw in self.frameworks:
            if framework is None or fw.framework == framework:
                c = fw.get(competency)
                if c is not None:
                    return c
        return None

    def statuses(self, framework: Optional[str] = None) -> Dict[str, str]:
        """{competency: status} over the frameworks (or one)."""
        return {c.competency: c.status for fw in self.frameworks
                if framework is None or fw.framework == framework for c in fw.competencies}


@dataclass(frozen=True)
class FrameworkInfo:
    framework: str
    title: str
    version: str              # the document's own version label
    revision: int             # 1, 2, ... per changed load of this id
    competency_count: int
    loaded_at_ms: int

    @property
    def loaded_at(self) -> Optional[datetime.datetime]:
        return ms_to_datetime(self.loaded_at_ms)


@dataclass(frozen=True)
class FrameworkDocument:
    info: FrameworkInfo
    json: str                 # the document exactly as loaded


@dataclass(frozen=True)
class ImportCaseResult:
    info: FrameworkInfo
    warnings: List[str]       # what was accepted leniently, with the item ids
    summary: str              # counts: items, compositions, gates, kept, ignored


@dataclass(frozen=True)
class CredentialInfo:
    credential_id: str        # urn:uuid:...
    learner: str
    framework: str
    revision: int
    competency: str
    achievement_name: str
    issued_at_ms: int
    state: str                # "active", "revoked" or "suspended"
    status_index: int         # its bit in the status lists
    reason: str               # why revoked / suspended

    @property
    def issued_at(self) -> Optional[datetime.datetime]:
        return ms_to_datetime(self.issued_at_ms)


@dataclass(frozen=True)
class CredentialDocument:
    info: CredentialInfo
    document: str             # the signed JSON-LD text, or the compact VC-JWT


@dataclass(frozen=True)
class Transcript:
    transcript_id: str        # the ClrCredential's id, urn:uuid:...
    document: str             # the signed 1EdTech CLR 2.0 ClrCredential, JSON text
    credentials: int          # achievement credentials (badges) it holds
    associations: int         # precedes / isChildOf associations between their achievements


@dataclass(frozen=True)
class StoredEvidence:
    evidence_id: str
    learner: str
    competency: str
    score: float
    observed_at_ms: int
    source: str
    outcome: Optional[str]    # "passed", "failed" or None
    weight: float             # 0: the default weight 1
    url: str
    narrative: str
    retracted: bool


class EvidencePage(list):
    """A list of StoredEvidence; truncated: the learner has more than this page holds, and
    next_page_token asks for the next page."""

    def __init__(self, items=(), truncated=False, next_page_token=""):
        super().__init__(items)
        self.truncated = truncated
        self.next_page_token = next_page_token


@dataclass(frozen=True)
class Health:
    version: str
    uptime_ms: int
    evidence_count: int
    last_seq: int             # the newest event's seq
    framework_count: int
    map_size: int
    map_used: int
    requests: int
    commits: int
    dev_mode: bool
    learner_count: int = 0       # learners with records
    credential_count: int = 0    # badges stored (revoked ones included)
    error_count: int = 0         # error replies and refused items since start
    events_endpoint: str = ""    # the PUB endpoint as bound (see Client.discover_events_endpoint)


@dataclass(frozen=True)
class Event:
    """One stored event. kind is the payload's name: "evidence_accepted", "unlocked",
    "mastered", "override", "framework_loaded", "evidence_retracted", "credential_issued",
    "credential_status", "keys_rotated", "at_risk", "learner_erased", "legal_hold",
    "learner_reenrolled", "shredded" (the transparency log's checkpoints are published live
    with seq 0 and are not events of the stream).
    data holds every field of the payload by its proto name. A stored event of an erased
    learner reads back as kind "shredded": its seq and time remain, data["kind"] names what it
    was ("mastered"), and nothing else of it is kept (see shredded_kind)."""
    seq: int
    at_ms: int
    kind: str
    learner: Optional[str] = None
    framework: Optional[str] = None
    competency: Optional[str] = None
    data: Dict[str, object] = field(default_factory=dict)

    @property
    def at(self) -> Optional[datetime.datetime]:
        return ms_to_datetime(self.at_ms)

    @property
    def shredded_kind(self) -> Optional[str]:
        """For a shredded event (its learner was erased), the kind it was; None otherwise."""
        return self.data.get("kind") if self.kind == "shredded" else None


@dataclass(frozen=True)
class ErasureReceipt:
    """The answer to Client.erase_learner.

    already_erased: the learner had been erased before (at erased_at_ms): nothing changed and
    receipt_json is "". Otherwise receipt_json is the signed W3C VC 2.0 ErasureReceipt
    (eddsa-jcs-2022): the daemon does not keep it, so store it (mastery-verify
    --erasure-receipt checks it). log_index is the learner_erased entry in the transparency
    log; records_erased counts every record deleted, evidence included."""
    already_erased: bool
    erased_at_ms: int
    receipt_json: str
    log_index: int
    evidence_erased: int
    records_erased: int
    credentials_revoked: int
    credentials_kept: int

    @property
    def erased_at(self) -> Optional[datetime.datetime]:
        return ms_to_datetime(self.erased_at_ms)

    @property
    def receipt(self) -> Optional[dict]:
        """The receipt parsed (a dict), None when already_erased."""
        return json.loads(self.receipt_json) if self.receipt_json else None


@dataclass(frozen=True)
class LegalHoldResult:
    """The answer to Client.set_legal_hold: hold is the learner's hold now; changed is False
    when it already was so; since_ms is when the hold was placed (0 when not held)."""
    hold: bool
    changed: bool
    since_ms: int = 0

    @property
    def since(self) -> Optional[datetime.datetime]:
        return ms_to_datetime(self.since_ms)


@dataclass(frozen=True)
class ReenrolResult:
    """The answer to Client.reenrol_learner: was_erased is False when the id was not erased
    (nothing changed)."""
    was_erased: bool


@dataclass(frozen=True)
class RosterClass:
    """One class to import: its learners and teachers replace the stored ones."""
    group: str
    title: str = ""
    learners: List[str] = field(default_factory=list)
    teachers: List[str] = field(default_factory=list)
    deleted: bool = False     # remove the class and its members


@dataclass(frozen=True)
class RosterResult:
    created: int
    updated: int
    deleted: int
    unchanged: int
    members_added: int
    members_removed: int


@dataclass(frozen=True)
class Group:
    group: str
    title: str
    learner_count: int
    teacher_count: int
    learners: List[str] = field(default_factory=list)   # only from Client.group()
    teachers: List[str] = field(default_factory=list)


@dataclass(frozen=True)
class CompetencySummary:
    competency: str
    title: str
    locked: int
    unlocked: int             # unlocked, not mastered
    mastered: int
    review_due: int
    median_score: float       # over the learners with evidence on it
    scored: int               # learners with evidence on it
    blocked: int              # learners it blocks (masteryd.8, CLASSES)


@dataclass(frozen=True)
class AtRiskLearner:
    learner: str
    reasons: List[str]        # "stuck:<competency> (<n> items)", "idle:<n> days", "no_evidence"
    competency: str           # the competency a stuck reason names, or ""
    last_activity_ms: int


@dataclass(frozen=True)
class LearnerRow:
    learner: str
    status: List[str]         # per competency, report order: LOCKED / UNLOCKED / MASTERED
    score: List[float]
    mastered: int
    evidence_count: int
    last_activity_ms: int
    risk: List[str]


@dataclass(frozen=True)
class GroupReport:
    group: str
    title: str
    framework: str
    revision: int
    learner_count: int
    competencies: List[CompetencySummary]
    blocking: List[str]       # competencies blocking the most learners, most first
    at_risk: List[AtRiskLearner]
    learners: List[LearnerRow]  # with cells=True
    generated_at_ms: int


@dataclass(frozen=True)
class NextStep:
    """One ranked step of Client.next_steps: kind "learn" (unlocked, not mastered) or "review"
    (mastered, review due). items_needed is None when more than 64 perfect items are needed;
    min_next_score None when no single item masters it."""
    rank: int
    kind: str
    framework: str
    competency: str
    title: str
    score: float
    threshold: float
    evidence_count: int
    min_evidence: int
    min_next_score: Optional[float]
    items_needed: Optional[int]
    unlocks_direct: int
    unlocks_transitive: int
    prerequisites_met: int
    review_due_at_ms: int = 0
    review_failures: int = 0
    review_failed: bool = False
    mastered_at_ms: int = 0
    reasons: List[str] = field(default_factory=list)


@dataclass(frozen=True)
class LockedStep:
    """A locked competency near unlocking: how many prerequisites are missing, and which."""
    framework: str
    competency: str
    title: str
    missing: int
    missing_ids: List[str]
    unlocks_direct: int
    unlocks_transitive: int


@dataclass(frozen=True)
class NextSteps:
    learner: str
    at_ms: int
    steps: List[NextStep]
    nearest_locked: List[LockedStep]
    mastered: int
    total: int
    reviews_due: int


@dataclass(frozen=True)
class ExplainedItem:
    """One evidence item as the rule used it. evidence_id, source and narrative are "" when
    the caller may not read the learner (Explanation.items_redacted). coefficient and
    contribution are NaN for bkt, whose p_before/p_posterior say the step instead."""
    evidence_id: str
    source: str
    narrative: str
    observed_at_ms: int
    score: float
    weight: float
    outcome: str
    counted: bool
    not_counted: str
    coefficient: float
    contribution: float
    score_after: float
    p_before: float
    p_posterior: float
    correct: bool


@dataclass(frozen=True)
class Explanation:
    """Why a competency is (not) mastered (Client.explain). rule holds every parameter in
    effect; state is the stored CompetencyState; score is the rule over the counted items now.
    prerequisites/children: (competency, status, score) tuples."""
    learner: str
    framework: str
    revision: int
    competency: str
    title: str
    rule: Dict[str, object]
    state: CompetencyState
    score: float
    rule_met: bool
    counted: int
    items: List[ExplainedItem]
    items_redacted: bool
    requires_kind: str
    requires_k: int
    prerequisites: List[tuple]
    children: List[tuple]
    overridden: bool
    withdrawn: bool
    override_at_ms: int
    override_granted: bool
    override_actor: str
    override_reason: str
    review_after_ms: int
    review_due_at_ms: int
    review_due: bool
    review_failures: int
    review_failed: bool
    last_fresh_at_ms: int
    min_next_score: Optional[float]
    items_needed: Optional[int]
    summary: str
