"""The masteryd client: one DEALER socket for requests, a SUB socket per events() iterator."""
import datetime
import json
import os
import re
import time
import uuid

import zmq

from ._proto import pb
from .errors import ConnectionTimeout, MasterydError, error_for
from .models import (AtRiskLearner, BatchResult, CompetencyState, CompetencySummary,
                     CredentialDocument, CredentialInfo, ErasureReceipt, Event, EvidencePage,
                     ExplainedItem, LegalHoldResult, ReenrolResult,
                     Explanation, FrameworkDocument, FrameworkInfo, FrameworkState, Group,
                     GroupReport, Health, ImportCaseResult, ItemResult, LearnerRow, LearnerState,
                     LockedStep, NextStep, NextSteps, RosterClass, RosterResult, StoredEvidence,
                     Transcript)

DEFAULT_ENDPOINT = "tcp://127.0.0.1:7411"
MAX_BATCH = 1000            # items per SubmitEvidence (the daemon's max_batch_items default)
MAX_FRAME = 1 << 20         # bytes per request (the daemon's max_frame default)
EVENT_KINDS = tuple(f.name for f in pb.Event.DESCRIPTOR.oneofs_by_name["kind"].fields)

_OUTCOMES = {None: pb.OUTCOME_UNSPECIFIED, "passed": pb.OUTCOME_PASSED, True: pb.OUTCOME_PASSED,
             "failed": pb.OUTCOME_FAILED, False: pb.OUTCOME_FAILED}
_OUTCOME_NAMES = {pb.OUTCOME_PASSED: "passed", pb.OUTCOME_FAILED: "failed"}
_EVIDENCE_KEYS = ("evidence_id", "learner", "competency", "score", "observed_at", "source",
                  "outcome", "weight", "url", "narrative")


def _status_name(code):
    name = pb.StatusCode.Name(code) if code in pb.StatusCode.values() else "UNKNOWN_%d" % code
    return name[len("STATUS_"):] if name.startswith("STATUS_") else name


def _to_ms(observed_at):
    """None -> 0 (sent without observed_at_set: the daemon's receive time); datetime (naive:
    UTC), ISO 8601 text, or Unix seconds (int/float) -> Unix milliseconds (0: the epoch)."""
    if observed_at is None:
        return 0
    if isinstance(observed_at, str):
        text = observed_at.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            observed_at = datetime.datetime.fromisoformat(text)
        except ValueError:
            raise ValueError("observed_at %r is not an ISO 8601 date-time" % observed_at) from None
    if isinstance(observed_at, datetime.datetime):
        if observed_at.tzinfo is None:
            observed_at = observed_at.replace(tzinfo=datetime.timezone.utc)
        return int(round(observed_at.timestamp() * 1000))
    if isinstance(observed_at, (int, float)) and not isinstance(observed_at, bool):
        return int(round(observed_at * 1000))
    raise TypeError("observed_at must be a datetime, ISO 8601 text or Unix seconds, not %s"
                    % type(observed_at).__name__)


def _derive_events_endpoint(endpoint):
    """What a daemon older than Health.events_endpoint used: the request port + 1."""
    m = re.fullmatch(r"(tcp://.+):(\d+)", endpoint)
    if not m:
        return None
    return "%s:%d" % (m.group(1), int(m.group(2)) + 1)


def resolve_events_endpoint(endpoint, bound):
    """The endpoint to subscribe to, given the request endpoint and the event endpoint the
    daemon bound (Health.events_endpoint): a wildcard host (*, 0.0.0.0, [::]) becomes the request
    endpoint's host; anything else is used as it is (libmasteryclient does the same)."""
    m = re.fullmatch(r"tcp://(\*|0\.0\.0\.0|\[::\]):(\d+)", bound)
    e = re.fullmatch(r"tcp://(.+):(\d+)", endpoint)
    if m and e:
        return "tcp://%s:%s" % (e.group(1), m.group(2))
    return bound


def _fields(msg):
    return {f.name: getattr(msg, f.name) for f in msg.DESCRIPTOR.fields}


def _competency(c):
    return CompetencyState(competency=c.competency_id,
                           status=pb.CompetencyStatus.Name(c.status), score=c.score,
                           evidence_count=c.evidence_count, unlocked_at_ms=c.unlocked_at_ms,
                           mastered_at_ms=c.mastered_at_ms, overridden=c.overridden,
                           rule_met=c.rule_met)


def _framework_info(i):
    return FrameworkInfo(framework=i.framework_id, title=i.title, version=i.version,
                         revision=i.revision, competency_count=i.competency_count,
                         loaded_at_ms=i.loaded_at_ms)


def _credential_info(c):
    state = pb.CredentialState.Name(c.state)
    return CredentialInfo(credential_id=c.credential_id, learner=c.learner_id,
                          framework=c.framework_id, revision=c.revision,
                          competency=c.competency_id, achievement_name=c.achievement_name,
                          issued_at_ms=c.issued_at_ms,
                          state=state[len("CREDENTIAL_"):].lower(),
                          status_index=c.status_index, reason=c.reason)


def _event(e):
    kind = e.WhichOneof("kind") or ""
    data = _fields(getattr(e, kind)) if kind else {}
    return Event(seq=e.seq, at_ms=e.at_ms, kind=kind, learner=data.get("learner_id") or None,
                 framework=data.get("framework_id") or None,
                 competency=data.get("competency_id") or None, data=data)


class Client:
    """A connection to masteryd.

    endpoint         the request endpoint (ROUTER), e.g. "tcp://127.0.0.1:7411"
    curve_keys       (client_public, client_secret, server_public), Z85 text: ZeroMQ CURVE.
                     None: no encryption (the daemon's development mode, loopback only)
    timeout          seconds to wait for each answer
    retries          how many times a request is sent again after a timeout (or an UNAVAILABLE
                     answer): at most retries + 1 sends, then ConnectionTimeout
    events_endpoint  the event endpoint (PUB) for events(follow=True); default: the one the
                     daemon reports in Health, asked for when first needed
    source           the default `source` of submitted evidence (the tool's name)

    One Client per thread: ZeroMQ sockets are not thread-safe. Use as a context manager or
    call close().
    """

    events_hwm = 10000      # live events the SUB socket queues before ZeroMQ drops some

    def __init__(self, endpoint=DEFAULT_ENDPOINT, curve_keys=None, timeout=5.0, retries=3,
                 events_endpoint=None, source="masteryd_client", max_batch=MAX_BATCH,
                 max_frame=MAX_FRAME):
        if curve_keys is not None:
            if len(curve_keys) != 3:
                raise ValueError("curve_keys is (client_public, client_secret, server_public)")
            if not zmq.has("curve"):
                raise RuntimeError("this libzmq was built without CURVE support")
        if timeout <= 0 or retries < 0:
            raise ValueError("timeout must be > 0 and retries >= 0")
        self.endpoint = endpoint
        self.events_endpoint = events_endpoint  # None: asked of the daemon when first needed
        self.curve_keys = tuple(curve_keys) if curve_keys is not None else None
        self.timeout = float(timeout)
        self.retries = int(retries)
        self.source = source
        self.max_batch = int(max_batch)
        self.max_frame = int(max_frame)
        self.sends = 0      # request messages sent, retries included (for monitoring)
        self._ctx = zmq.Context.instance()
        self._sock = self._socket(zmq.DEALER)
        self._sock.connect(endpoint)

    # ---- plumbing -------------------------------------------------------------------------

    def _socket(self, kind):
        s = self._ctx.socket(kind)
        s.setsockopt(zmq.LINGER, 0)
        if self.curve_keys is not None:
            public, secret, server = (k.encode() if isinstance(k, str) else k
                                      for k in self.curve_keys)
            s.curve_publickey = public
            s.curve_secretkey = secret
            s.curve_serverkey = server
        return s

    def close(self):
        if self._sock is not None:
            self._sock.close(0)
            self._sock = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def _await(self, request_id, deadline):
        """The reply carrying request_id, or None at the deadline. Replies to earlier requests
        (answers to attempts that had timed out) are dropped."""
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not self._sock.poll(int(left * 1000) + 1):
                return None
            frames = self._sock.recv_multipart()
            rep = pb.Reply()
            try:
                rep.ParseFromString(frames[-1])
            except Exception:
                continue
            if rep.request_id == request_id:
                return rep
            # A request the daemon could not read (too large, undecodable) is refused without
            # an id; one request is outstanding at a time, so it is this one's answer.
            if rep.request_id == "" and rep.status.code != pb.STATUS_OK:
                return rep

    def _call(self, op, msg, resend=True):
        """Sends one request and returns its Reply (status OK); raises the typed error.

        resend: whether a timed-out request may be sent again (safe for reads and idempotent
        writes). Otherwise it is sent once and its answer awaited for the whole budget."""
        if self._sock is None:
            raise MasterydError("CLOSED", "the client is closed")
        req = pb.Request(request_id=uuid.uuid4().hex)
        getattr(req, op).CopyFrom(msg)
        data = req.SerializeToString()
        attempts = self.retries + 1
        backoff = min(0.1, self.timeout)
        reply = None
        sent = False
        for attempt in range(attempts):
            if resend or not sent:
                try:
                    self._sock.send_multipart([b"", data], flags=zmq.NOBLOCK)
                    self.sends += 1
                    sent = True
                except zmq.Again:
                    pass    # the queue to the daemon is full: counts as a timeout
            reply = self._await(req.request_id, time.monotonic() + self.timeout)
            if reply is None:
                continue
            if reply.status.code == pb.STATUS_UNAVAILABLE and resend and attempt + 1 < attempts:
                time.sleep(backoff)
                backoff = min(backoff * 2, self.timeout)
                continue
            break
        if reply is None:
            raise ConnectionTimeout("no answer from %s within %d x %.3g s"
                                    % (self.endpoint, attempts, self.timeout))
        if reply.status.code != pb.STATUS_OK:
            raise error_for(_status_name(reply.status.code), reply.status.message,
                            reply.status.field)
        return reply

    # ---- frameworks -----------------------------------------------------------------------

    def load_framework(self, path_or_json):
        """Loads a framework: a file path, JSON text, or a dict. Loading the same document
        again is a no-op; a changed one with the same id makes a new revision.
        Returns FrameworkInfo. Raises InvalidError / ConflictError naming the problem."""
        if isinstance(path_or_json, dict):
            text = json.dumps(path_or_json)
        elif isinstance(path_or_json, bytes):
            text = path_or_json.decode("utf-8")
        elif isinstance(path_or_json, str) and path_or_json.lstrip().startswith("{"):
            text = path_or_json
        else:
            with open(os.fspath(path_or_json), encoding="utf-8") as f:
                text = f.read()
        rep = self._call("put_framework", pb.PutFramework(json=text))
        return _framework_info(rep.framework_info)

    def frameworks(self):
        """Every loaded framework (current revisions), as a list of FrameworkInfo."""
        rep = self._call("list_frameworks", pb.ListFrameworks())
        return [_framework_info(i) for i in rep.framework_list.frameworks]

    def framework(self, framework_id, revision=0):
        """One framework document (revision 0: the current one) as FrameworkDocument."""
        rep = self._call("get_framework", pb.GetFramework(framework_id=framework_id,
                                                          revision=revision))
        return FrameworkDocument(info=_framework_info(rep.framework.info), json=rep.framework.json)

    def import_case(self, package, framework_id=None, gate="precedes", rules=()):
        """Imports a 1EdTech CASE 1.0 CFPackage (a path, JSON text or a dict) as a framework.
        gate: "precedes" (precedes associations become prerequisites) or "none"; rules:
        "ITEM_ID=METHOD[:threshold]" or "*=METHOD[:threshold]". Returns ImportCaseResult."""
        if isinstance(package, dict):
            text = json.dumps(package)
        elif isinstance(package, str) and package.lstrip().startswith("{"):
            text = package
        else:
            with open(os.fspath(package), encoding="utf-8") as f:
                text = f.read()
        rep = self._call("import_case", pb.ImportCase(package_json=text,
                                                      framework_id=framework_id or "",
                                                      gate=gate or "", rules=list(rules)))
        r = rep.import_case
        return ImportCaseResult(info=_framework_info(r.info), warnings=list(r.warnings),
                                summary=r.summary)

    # ---- evidence -------------------------------------------------------------------------

    def _evidence(self, item, i):
        """One evidence dict -> pb.Evidence; a malformed one raises TypeError/ValueError
        naming items[i], before anything is sent."""
        if isinstance(item, pb.Evidence):
            return item
        if not isinstance(item, dict):
            raise TypeError("items[%d]: an evidence item is a dict, not %s"
                            % (i, type(item).__name__))
        d = dict(item)
        if "id" in d and "evidence_id" not in d:    # the JSON-lines import format
            d["evidence_id"] = d.pop("id")
        unknown = set(d) - set(_EVIDENCE_KEYS)
        missing = [k for k in _EVIDENCE_KEYS[:4] if d.get(k) is None]
        if unknown or missing:
            raise TypeError("items[%d]: %s" % (i, "; ".join(
                (["unknown keys: " + ", ".join(sorted(unknown))] if unknown else []) +
                (["missing: " + ", ".join(missing)] if missing else []))))
        if d.get("outcome") not in _OUTCOMES:
            raise ValueError("items[%d].outcome must be 'passed', 'failed' or None, not %r"
                             % (i, d["outcome"]))
        try:
            observed = _to_ms(d.get("observed_at"))
        except (TypeError, ValueError) as e:
            raise type(e)("items[%d]: %s" % (i, e)) from None
        # The *_set flags say the value is given, so that the epoch means the epoch and a
        # weight of 0 is refused (items[i].weight) instead of counting as the default 1.
        weight = d.get("weight")
        return pb.Evidence(evidence_id=d["evidence_id"], learner_id=d["learner"],
                           competency_id=d["competency"], score=float(d["score"]),
                           observed_at_ms=observed,
                           observed_at_set=d.get("observed_at") is not None,
                           source=d.get("source") or self.source or "",
                           outcome=_OUTCOMES[d.get("outcome")],
                           weight=0.0 if weight is None else float(weight),
                           weight_set=weight is not None, url=d.get("url") or "",
                           narrative=d.get("narrative") or "")

    def _chunks(self, items):
        """Splits into requests of at most max_batch items and max_frame bytes."""
        budget = self.max_frame - 256       # the envelope: request id, tags
        start, size = 0, 0
        for i, e in enumerate(items):
            n = e.ByteSize() + 8            # tag and length of the repeated field
            if i > start and (i - start == self.max_batch or size + n > budget):
                yield start, items[start:i]
                start, size = i, 0
            size += n
        if start < len(items):
            yield start, items[start:]

    def submit_batch(self, items):
        """Submits evidence items (dicts with submit_evidence's keyword names; "id" works for
        evidence_id), split into requests of at most 1000 items / 1 MiB. A request that times
        out is sent again with the same evidence ids: an item stored by an earlier attempt
        answers DUPLICATE, which counts as acknowledged.

        Returns a BatchResult: one ItemResult per item, in order (field names the index in
        `items`). Raises a typed error only for a refused request or ConnectionTimeout; its
        .partial is the BatchResult of the items answered before the failing request."""
        evs = [self._evidence(it, i) for i, it in enumerate(items)]
        out = BatchResult()
        for start, chunk in self._chunks(evs):
            try:
                rep = self._call("submit_evidence", pb.SubmitEvidence(items=chunk))
            except MasterydError as e:
                e.partial = out     # the items answered before this request
                if start:
                    e.message += ("; items[0..%d] were answered (see .partial), the rest are "
                                  "unknown: send them again" % (start - 1))
                raise
            results = rep.evidence_results.items
            if len(results) != len(chunk):
                raise MasterydError("INTERNAL", "%d results for %d items"
                                    % (len(results), len(chunk)))
            for r in results:
                fld = r.status.field
                m = re.match(r"items\[(\d+)\]", fld)
                if m:   # name the index in the caller's list, not in this chunk
                    fld = "items[%d]%s" % (start + int(m.group(1)), fld[m.end():])
                out.append(ItemResult(evidence_id=r.evidence_id,
                                      code=_status_name(r.status.code), field=fld,
                                      message=r.status.message))
        return out

    def submit_evidence(self, evidence_id, learner, competency, score, observed_at=None,
                        source=None, outcome=None, weight=None, url=None, narrative=None):
        """Submits one evidence item; returns its ItemResult (code "OK", or "DUPLICATE" when
        already stored). Raises the item's typed error (InvalidError with field
        "items[0].score", NotFoundError for an unknown competency, ConflictError for an id
        stored with other content) or ConnectionTimeout.

        observed_at: datetime (naive means UTC), ISO 8601 text or Unix seconds; None: the
        daemon's receive time. outcome: "passed", "failed" or None. source: default the
        Client's. weight: None means 1; a given weight must be > 0."""
        res = self.submit_batch([dict(evidence_id=evidence_id, learner=learner,
                                      competency=competency, score=score,
                                      observed_at=observed_at, source=source, outcome=outcome,
                                      weight=weight, url=url, narrative=narrative)])[0]
        if not res.acknowledged:
            raise res.error
        return res

    def evidence(self, learner, competency=None, limit=0, page_token=""):
        """Stored evidence of a learner (one competency, or all), one page: at most limit
        items (0: the daemon's page size) and about the daemon's page_bytes. Returns an
        EvidencePage: a list of StoredEvidence ordered by competency, observed_at and id, with
        .truncated when more were stored and .next_page_token to pass as page_token for the
        next page (iter_evidence follows them)."""
        rep = self._call("list_evidence", pb.ListEvidence(learner_id=learner,
                                                          competency_id=competency or "",
                                                          limit=limit, page_token=page_token))
        return EvidencePage((StoredEvidence(evidence_id=e.evidence_id, learner=e.learner_id,
                               competency=e.competency_id, score=e.score,
                               observed_at_ms=e.observed_at_ms, source=e.source,
                               outcome=_OUTCOME_NAMES.get(e.outcome), weight=e.weight, url=e.url,
                               narrative=e.narrative, retracted=e.retracted)
                             for e in rep.evidence.items), truncated=rep.evidence.truncated,
                            next_page_token=rep.evidence.next_page_token)

    def iter_evidence(self, learner, competency=None):
        """Every stored evidence item of a learner (one competency, or all), page by page."""
        token = ""
        while True:
            page = self.evidence(learner, competency, page_token=token)
            yield from page
            if not page.truncated or not page:
                return
            token = page.next_page_token

    def retract_evidence(self, evidence_id, reason, source=None):
        """Retracts a stored item (e.g. an xAPI statement was voided): kept, marked, excluded
        from every rule, and the rules re-evaluated. Evidence ids are scoped to their source:
        source names the one the item was submitted under (default: the Client's, as for
        submit_evidence; a tool key always retracts in its own scope). Returns True if this
        call retracted it, False if it already was. Raises NotFoundError for an unknown
        (source, id)."""
        rep = self._call("retract_evidence", pb.RetractEvidence(
            evidence_id=evidence_id, reason=reason, source=source or self.source or ""))
        return rep.status.message == ""

    # ---- learners -------------------------------------------------------------------------

    def learner_state(self, learner, framework=None):
        """The learner's state in every framework (or one): LearnerState."""
        rep = self._call("get_learner", pb.GetLearner(learner_id=learner,
                                                      framework_id=framework or ""))
        return LearnerState(learner=rep.learner.learner_id,
                            frameworks=[FrameworkState(framework=f.framework_id,
                                                       revision=f.revision,
                                                       competencies=[_competency(c) for c in
                                                                     f.competencies])
                                        for f in rep.learner.frameworks])

    def override(self, learner, framework, competency, mastered=True, reason="", actor=""):
        """A teacher's decision: grant (mastered=True) or withdraw a mastery, with a reason
        (required) and who decided. Returns the new CompetencyState.

        Not idempotent, so never sent twice: on ConnectionTimeout check learner_state."""
        rep = self._call("override", pb.Override(learner_id=learner, framework_id=framework,
                                                 competency_id=competency, mastered=mastered,
                                                 reason=reason, actor=actor or ""),
                         resend=False)
        return _competency(rep.competency)

    # ---- groups (classes) -------------------------------------------------------------------

    def import_roster(self, classes):
        """Imports classes (RosterClass, or dicts with its fields): each class's learners and
        teachers replace the stored ones, so the same roster twice changes nothing. Ids only:
        never send names or e-mail addresses. Admin only. Returns RosterResult. (To read a
        OneRoster CSV export, use `masteryctl roster import DIR`.)"""
        msgs = []
        for c in classes:
            c = c if isinstance(c, RosterClass) else RosterClass(**c)
            msgs.append(pb.RosterClass(group_id=c.group, title=c.title or c.group,
                                       learner_ids=list(c.learners),
                                       teacher_ids=list(c.teachers), deleted=c.deleted))
        r = self._call("import_roster", pb.ImportRoster(classes=msgs)).import_roster
        return RosterResult(created=r.groups_created, updated=r.groups_updated,
                            deleted=r.groups_deleted, unchanged=r.groups_unchanged,
                            members_added=r.members_added, members_removed=r.members_removed)

    def groups(self):
        """The groups you may see (a class-scoped teacher: its own): a list of Group."""
        rep = self._call("list_groups", pb.ListGroups())
        return [Group(group=g.group_id, title=g.title, learner_count=g.learner_count,
                      teacher_count=g.teacher_count) for g in rep.groups.groups]

    def group(self, group_id):
        """One group with its learners and teachers."""
        [g] = self._call("list_groups", pb.ListGroups(group_id=group_id)).groups.groups
        return Group(group=g.group_id, title=g.title, learner_count=g.learner_count,
                     teacher_count=g.teacher_count, learners=list(g.learner_ids),
                     teachers=list(g.teacher_ids))

    def group_report(self, group_id, framework=None, cells=False):
        """The teacher's view of a class (masteryd.8, CLASSES): GroupReport. cells adds every
        learner's status and score per competency."""
        r = self._call("group_report", pb.GroupReport(group_id=group_id,
                                                      framework_id=framework or "",
                                                      cells=cells)).group_report
        names = pb.CompetencyStatus.Name
        return GroupReport(
            group=r.group_id, title=r.title, framework=r.framework_id, revision=r.revision,
            learner_count=r.learner_count,
            competencies=[CompetencySummary(
                competency=c.competency_id, title=c.title, locked=c.locked, unlocked=c.unlocked,
                mastered=c.mastered, review_due=c.review_due, median_score=c.median_score,
                scored=c.scored, blocked=c.blocked) for c in r.competencies],
            blocking=list(r.blocking),
            at_risk=[AtRiskLearner(learner=a.learner_id, reasons=list(a.reasons),
                                   competency=a.competency_id,
                                   last_activity_ms=a.last_activity_ms) for a in r.at_risk],
            learners=[LearnerRow(learner=l.learner_id, status=[names(s) for s in l.status],
                                 score=list(l.score), mastered=l.mastered,
                                 evidence_count=l.evidence_count,
                                 last_activity_ms=l.last_activity_ms, risk=list(l.risk))
                      for l in r.learners],
            generated_at_ms=r.generated_at_ms)
    # ---- next steps and explanations -------------------------------------------------------

    def next_steps(self, learner, framework=None, limit=0, locked_limit=0):
        """What the learner can work on next, ranked (reviews due, then unlocked competencies
        nearest to mastery that unlock the most), each with its reasons, and the locked
        competencies nearest to unlocking. limit: steps (default 10, at most 1000);
        locked_limit: locked ones (default 5). Returns NextSteps."""
        rep = self._call("next", pb.Next(learner_id=learner, framework_id=framework or "",
                                         limit=limit, locked_limit=locked_limit))
        n = rep.next_steps
        far = 0xFFFFFFFF
        steps = [NextStep(rank=s.rank, kind="review" if s.kind == pb.STEP_REVIEW else "learn",
                          framework=s.framework_id, competency=s.competency_id, title=s.title,
                          score=s.score, threshold=s.threshold, evidence_count=s.evidence_count,
                          min_evidence=s.min_evidence,
                          min_next_score=s.min_next_score if s.min_next_score >= 0 else None,
                          items_needed=None if s.items_needed == far else s.items_needed,
                          unlocks_direct=s.unlocks_direct,
                          unlocks_transitive=s.unlocks_transitive,
                          prerequisites_met=s.prerequisites_met,
                          review_due_at_ms=s.review_due_at_ms,
                          review_failures=s.review_failures, review_failed=s.review_failed,
                          mastered_at_ms=s.mastered_at_ms, reasons=list(s.reasons))
                 for s in n.steps]
        locked = [LockedStep(framework=l.framework_id, competency=l.competency_id, title=l.title,
                             missing=l.missing, missing_ids=list(l.missing_ids),
                             unlocks_direct=l.unlocks_direct,
                             unlocks_transitive=l.unlocks_transitive)
                  for l in n.nearest_locked]
        return NextSteps(learner=n.learner_id, at_ms=n.at_ms, steps=steps, nearest_locked=locked,
                         mastered=n.mastered, total=n.total, reviews_due=n.reviews_due)

    def explain(self, learner, competency, framework=None):
        """Why the learner's competency is (not) mastered: the rule and its parameters, each
        evidence item's part in the score (BKT step by step), prerequisites, the last override,
        reviews. framework: default the first (load order) with the competency.
        Returns Explanation."""
        rep = self._call("explain", pb.Explain(learner_id=learner, competency_id=competency,
                                               framework_id=framework or ""))
        x = rep.explanation
        items = [ExplainedItem(evidence_id=i.evidence_id, source=i.source,
                               narrative=i.narrative, observed_at_ms=i.observed_at_ms,
                               score=i.score, weight=i.weight,
                               outcome={pb.OUTCOME_PASSED: "passed",
                                        pb.OUTCOME_FAILED: "failed"}.get(i.outcome, ""),
                               counted=i.counted, not_counted=i.not_counted,
                               coefficient=i.coefficient, contribution=i.contribution,
                               score_after=i.score_after, p_before=i.p_before,
                               p_posterior=i.p_posterior, correct=i.correct)
                 for i in x.items]
        pre = [(p.competency_id, pb.CompetencyStatus.Name(p.status), p.score)
               for p in x.prerequisites]
        kids = [(p.competency_id, pb.CompetencyStatus.Name(p.status), p.score)
                for p in x.children]
        return Explanation(
            learner=x.learner_id, framework=x.framework_id, revision=x.revision,
            competency=x.competency_id, title=x.title, rule=json.loads(x.rule_json),
            state=_competency(x.state), score=x.score, rule_met=x.rule_met, counted=x.counted,
            items=items, items_redacted=x.items_redacted, requires_kind=x.requires_kind,
            requires_k=x.requires_k, prerequisites=pre, children=kids,
            overridden=x.overridden, withdrawn=x.withdrawn, override_at_ms=x.override_at_ms,
            override_granted=x.override_granted, override_actor=x.override_actor,
            override_reason=x.override_reason, review_after_ms=x.review_after_ms,
            review_due_at_ms=x.review_due_at_ms, review_due=x.review_due,
            review_failures=x.review_failures, review_failed=x.review_failed,
            last_fresh_at_ms=x.last_fresh_at_ms,
            min_next_score=x.min_next_score if x.min_next_score >= 0 else None,
            items_needed=None if x.items_needed == 0xFFFFFFFF else x.items_needed,
            summary=x.summary)

    # ---- credentials ----------------------------------------------------------------------

    def credentials(self, learner):
        """The learner's issued credentials (badges): a list of CredentialInfo."""
        rep = self._call("list_credentials", pb.ListCredentials(learner_id=learner))
        return [_credential_info(c) for c in rep.credential_list.credentials]

    def credential(self, credential_id, format="json"):
        """One credential: CredentialDocument(info, document), the document being the signed
        JSON-LD text (format "json") or the compact VC-JWT (format "jwt")."""
        fmt = {"json": pb.FORMAT_JSON, "jwt": pb.FORMAT_JWT}.get(format)
        if fmt is None:
            raise ValueError("format is 'json' or 'jwt', not %r" % (format,))
        rep = self._call("get_credential", pb.GetCredential(credential_id=credential_id,
                                                            format=fmt))
        return CredentialDocument(info=_credential_info(rep.credential.info),
                                  document=rep.credential.document)

    def transcript(self, learner, framework=None):
        """Issues a signed 1EdTech CLR 2.0 transcript (ClrCredential) of the learner's active
        badges (of one framework when given), with the framework's precedes / isChildOf
        associations: a Transcript(transcript_id, document, credentials, associations). The
        daemon does not keep it; ask again for a fresh one. NotFoundError when the learner
        has no active badge (field issue_transcript.learner_id) or the framework is unknown."""
        rep = self._call("issue_transcript", pb.IssueTranscript(learner_id=learner,
                                                                framework_id=framework or ""))
        t = rep.transcript
        return Transcript(transcript_id=t.id, document=t.document, credentials=t.credentials,
                          associations=t.associations)

    # ---- erasure, legal hold (README, "Erasure and retention") -----------------------------

    def erase_learner(self, learner_id, reason="", request_ref="", revoke_credentials=False):
        """Erases a learner (admin): their data key and every record of theirs go in one
        transaction; their badges stay valid unless revoke_credentials. Returns ErasureReceipt
        (keep its receipt_json: the daemon does not). Erasing again answers already_erased.
        reason and request_ref go into the receipt only. ConflictError (field learner_id)
        under a legal hold. Sent once and its answer awaited for timeout x (retries + 1): only
        the first answer carries the receipt (a resend would answer already_erased). After a
        ConnectionTimeout, erase again: already_erased tells the erasure happened."""
        rep = self._call("erase_learner", pb.EraseLearner(
            learner_id=learner_id, reason=reason or "", request_ref=request_ref or "",
            revoke_credentials=bool(revoke_credentials)), resend=False)
        return ErasureReceipt(**_fields(rep.erasure))

    def set_legal_hold(self, learner_id, hold=True, reason=""):
        """Places (hold=True) or lifts a legal hold (admin): while held, erase_learner is
        refused and retention keeps the learner's evidence. Returns LegalHoldResult."""
        rep = self._call("set_legal_hold", pb.SetLegalHold(learner_id=learner_id, hold=bool(hold),
                                                           reason=reason or ""))
        return LegalHoldResult(**_fields(rep.legal_hold))

    def reenrol_learner(self, learner_id):
        """Makes an erased learner id usable again (admin): it starts with nothing. Until then
        evidence for it is refused with GoneError. Returns ReenrolResult."""
        rep = self._call("reenrol_learner", pb.ReenrolLearner(learner_id=learner_id))
        return ReenrolResult(**_fields(rep.reenrol))

    def health(self):
        rep = self._call("health", pb.Health())
        return Health(**_fields(rep.health))

    def discover_events_endpoint(self):
        """Asks the daemon where its events are (Health.events_endpoint), sets and returns
        self.events_endpoint. A daemon too old to say gets the old guess, request port + 1."""
        bound = self.health().events_endpoint
        self.events_endpoint = (resolve_events_endpoint(self.endpoint, bound) if bound
                                else _derive_events_endpoint(self.endpoint))
        if not self.events_endpoint:
            raise ValueError("the daemon reports no events endpoint; give events_endpoint")
        return self.events_endpoint

    # ---- the transparency log (README, "The evidence trail") ------------------------------

    def checkpoint(self):
        """The newest signed checkpoint: a dict with note (the C2SP signed note), origin, size,
        root (32 bytes), base_seq and verifier_keys (every Ed25519 key's, oldest first)."""
        c = self._call("get_checkpoint", pb.GetCheckpoint()).checkpoint
        return {"note": c.note, "origin": c.origin, "size": c.size, "root": bytes(c.root),
                "base_seq": c.base_seq, "verifier_keys": list(c.verifier_keys)}

    def log_entry(self, index):
        """Entry index: its bytes, leaf hash and fields (doc/log-format.md)."""
        e = self._call("get_log_entry", pb.GetLogEntry(index=index)).log_entry
        return {"index": e.index, "entry": bytes(e.entry), "leaf_hash": bytes(e.leaf_hash),
                "fields": json.loads(e.json)}

    def prove_inclusion(self, index, size=0):
        """The inclusion proof of entry index in the tree of size entries (0: the newest
        checkpoint's); against the newest checkpoint also as c2sp.org/tlog-proof text."""
        p = self._call("prove_log", pb.ProveLog(index=index, size=size)).log_proof
        return {"index": p.index, "size": p.size, "hashes": [bytes(h) for h in p.hashes],
                "root": bytes(p.root), "tlog_proof": p.tlog_proof}

    def prove_consistency(self, size1, size2=0):
        """The proof that the tree of size2 entries (0: the newest) extends that of size1."""
        p = self._call("prove_log", pb.ProveLog(size1=size1, size=size2)).log_proof
        return {"size1": p.size1, "size": p.size, "hashes": [bytes(h) for h in p.hashes],
                "root1": bytes(p.root1), "root": bytes(p.root)}

    def credential_proof(self, credential_id):
        """The proof bundle of a badge (dict; write it as JSON for mastery-verify --log-proof)."""
        rep = self._call("get_credential_proof",
                         pb.GetCredentialProof(credential_id=credential_id))
        return json.loads(rep.credential_proof.bundle)

    # ---- events ---------------------------------------------------------------------------

    def _page(self, from_seq, limit=0):
        return self._call("read_events", pb.ReadEvents(from_seq=from_seq, limit=limit)).events

    def events(self, from_seq=1, follow=True, kinds=None, learner=None, poll_interval=1.0):
        """Iterates events in seq order from from_seq, each exactly once.

        It subscribes to the event endpoint first, then replays the stored events page by page
        (ReadEvents), then yields live events. A live event already replayed is skipped; a
        seq jump (PUB drops messages to slow subscribers) is filled from the store; and when
        nothing arrives for poll_interval seconds the store is asked for anything newer, in
        case PUB dropped the tail. follow=False stops after the stored events.

        kinds: event kinds to yield (EVENT_KINDS, e.g. {"mastered", "unlocked"}); learner:
        only that learner's events. Filtering is done here, on the full ordered stream, so
        gap detection stays exact. Close the iterator (or leave the loop) to unsubscribe."""
        if kinds is not None:
            kinds = {kinds} if isinstance(kinds, str) else set(kinds)
            bad = kinds - set(EVENT_KINDS)
            if bad:
                raise ValueError("unknown event kinds %s; known: %s"
                                 % (sorted(bad), ", ".join(EVENT_KINDS)))
        if follow and not self.events_endpoint:
            self.discover_events_endpoint()

        def wanted(ev):
            return ((kinds is None or ev.kind in kinds) and
                    (learner is None or ev.learner == learner))

        return EventStream(self, max(int(from_seq), 1), follow, wanted, poll_interval)


class EventStream:
    """The iterator events() returns. Besides yielding Event objects it counts where they came
    from: replayed (stored, before going live), live (from PUB), filled (stored, read to fill a
    gap in PUB or after an idle poll_interval). close() (or a with block) unsubscribes."""

    def __init__(self, client, from_seq, follow, wanted, poll_interval):
        self.next_seq = from_seq    # the next seq this stream will produce
        self.replayed = self.live = self.filled = 0
        self._client = client
        self._follow = follow
        self._wanted = wanted
        self._poll_ms = max(1, int(poll_interval * 1000))
        self._sub = None
        if follow:  # subscribe before the replay starts, so nothing falls between the two
            self._sub = client._socket(zmq.SUB)
            self._sub.setsockopt(zmq.RCVHWM, client.events_hwm)
            self._sub.setsockopt(zmq.SUBSCRIBE, b"")
            self._sub.connect(client.events_endpoint)
        self._gen = self._run()

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._gen)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def close(self):
        self._gen.close()
        if self._sub is not None:
            self._sub.close(0)
            self._sub = None

    def _store(self, counter, upto=None):
        """Yields stored events from next_seq (up to upto, exclusive) until the store has
        nothing newer."""
        while upto is None or self.next_seq < upto:
            # A gap is read exactly: what follows it is already queued on the SUB socket.
            limit = min(upto - self.next_seq, 100000) if upto is not None else 0
            page = self._client._page(self.next_seq, limit)
            for e in page.events:
                if e.seq < self.next_seq:
                    continue
                self.next_seq = e.seq + 1
                ev = _event(e)
                if self._wanted(ev):
                    setattr(self, counter, getattr(self, counter) + 1)
                    yield ev
            if not page.events or self.next_seq > page.last_seq:
                return

    def _run(self):
        yield from self._store("replayed")
        if not self._follow:
            return
        while True:
            if not self._sub.poll(self._poll_ms):
                yield from self._store("filled")     # idle: PUB may have dropped the tail
                continue
            frames = self._sub.recv_multipart()
            e = pb.Event()
            try:
                e.ParseFromString(frames[-1])
            except Exception:
                continue
            if e.seq < self.next_seq:
                continue                    # already yielded (replayed or filled)
            if e.seq > self.next_seq:
                yield from self._store("filled", e.seq)  # PUB dropped some: the store has them
                if e.seq < self.next_seq:
                    continue
            self.next_seq = e.seq + 1
            ev = _event(e)
            if self._wanted(ev):
                self.live += 1
                yield ev
