/*
 * masteryctl: the command table. Every command is a row (name, subcommand, handler, accepted
 * and required options, operands, usage, summary); `masteryctl --help` lists them in this order.
 */
#include "masteryctl.h"

#define EVIDENCE_FIELDS                                                                            \
    (O(OPT_LEARNER) | O(OPT_COMPETENCY) | O(OPT_SCORE) | O(OPT_ID) | O(OPT_OBSERVED_AT) |          \
     O(OPT_SOURCE) | O(OPT_OUTCOME) | O(OPT_WEIGHT) | O(OPT_URL) | O(OPT_NARRATIVE))

const command_t COMMANDS[] = {
    {"framework", "load", cmd_framework_load, 0, 0, 1, 1, "framework load FILE|-",
     "Loads a framework document (a new revision when its id is already loaded)."},
    {"framework", "show", cmd_framework_show, O(OPT_REVISION), 0, 1, 1,
     "framework show ID [--revision N]", "Prints a framework document as loaded."},
    {"framework", "list", cmd_framework_list, 0, 0, 0, 0, "framework list",
     "Lists the loaded frameworks."},
    {"framework", "import-case", cmd_framework_import_case,
     O(OPT_CASE_ID) | O(OPT_GATE) | O(OPT_RULE) | O(OPT_BADGES), 0, 1, 1,
     "framework import-case PACKAGE.json|- [--id ID] [--gate precedes|none] [--rule RULE ...]\n"
     "       [--badges]",
     "Imports a 1EdTech CASE 1.0 package (CFPackage JSON) as a framework: CFItems become\n"
     "competencies, isChildOf a roll-up, precedes a prerequisite (unless --gate none).\n"
     "Prints the summary and every warning about what was accepted leniently."},
    {"evidence", "add", cmd_evidence_add, EVIDENCE_FIELDS,
     O(OPT_LEARNER) | O(OPT_COMPETENCY) | O(OPT_SCORE), 0, 0,
     "evidence add --learner L --competency C --score X [--id ID] [--observed-at TIME]\n"
     "       [--source S] [--outcome passed|failed] [--weight W] [--url U] [--narrative TEXT]",
     "Submits one evidence item and prints its id and status (OK or DUPLICATE)."},
    {"evidence", "import", cmd_evidence_import, O(OPT_BATCH) | O(OPT_WINDOW), 0, 1, 1,
     "evidence import FILE|- [--batch N] [--window N]",
     "Submits evidence lines (JSON, one object a line) in batches; reports every rejected\n"
     "line by number and prints a summary. Exit 1 if any line was rejected."},
    {"evidence", "list", cmd_evidence_list, O(OPT_LEARNER) | O(OPT_COMPETENCY) | O(OPT_LIMIT),
     O(OPT_LEARNER), 0, 0, "evidence list --learner L [--competency C] [--limit N]",
     "Lists a learner's evidence."},
    {"learner", "show", cmd_learner_show, O(OPT_FRAMEWORK), 0, 1, 1,
     "learner show L [--framework F]", "Shows a learner's state in each framework."},
    {"learner", "next", cmd_learner_next, O(OPT_FRAMEWORK) | O(OPT_LIMIT), 0, 1, 1,
     "learner next L [--framework F] [--limit N]",
     "What the learner can work on next, ranked, with the reasons (reviews due first, then\n"
     "the competencies closest to mastery that unlock the most), and the locked competencies\n"
     "nearest to unlocking with what is missing."},
    {"learner", "explain", cmd_learner_explain, O(OPT_FRAMEWORK), 0, 2, 2,
     "learner explain L C [--framework F]",
     "Why competency C is (not) mastered: the rule and its parameters, each evidence item's\n"
     "part in the score (BKT step by step), prerequisites, overrides, reviews."},
    {"learner", "report", cmd_learner_report, O(OPT_HTML) | O(OPT_FRAMEWORK) | O(OPT_OUTPUT),
     O(OPT_HTML), 1, 1, "learner report L --html [--framework F] [-o FILE]",
     "Writes one self-contained HTML page (no network): the competency map as a layered\n"
     "graph coloured mastered / unlocked / locked / review due, next steps highlighted,\n"
     "scores and dates. Readable on a phone."},
    {"events", NULL, cmd_events, O(OPT_FROM) | O(OPT_FOLLOW) | O(OPT_KIND) | O(OPT_LEARNER), 0, 0,
     0, "events [--from N] [--follow] [--kind K] [--learner L]",
     "Prints events as JSON lines: the stored ones from --from, then (with --follow) live\n"
     "ones until interrupted, without gaps or duplicates."},
    {"override", NULL, cmd_override,
     O(OPT_LEARNER) | O(OPT_FRAMEWORK) | O(OPT_COMPETENCY) | O(OPT_GRANT) | O(OPT_WITHDRAW) |
         O(OPT_REASON) | O(OPT_ACTOR),
     O(OPT_LEARNER) | O(OPT_FRAMEWORK) | O(OPT_COMPETENCY) | O(OPT_REASON), 0, 0,
     "override --learner L --framework F --competency C (--grant|--withdraw) --reason TEXT\n"
     "       [--actor NAME]",
     "Grants or withdraws a mastery by a teacher's decision (audited)."},
    {"health", NULL, cmd_health, 0, 0, 0, 0, "health", "Shows the daemon's status."},
    {"metrics", NULL, cmd_metrics, 0, 0, 0, 0, "metrics",
     "Prints the daemon's counters in the Prometheus text format; for node_exporter's\n"
     "textfile collector: masteryctl metrics > DIR/masteryd.prom.$$ && mv it to "
     "DIR/masteryd.prom."},
    {"evidence", "retract", cmd_evidence_retract, O(OPT_REASON) | O(OPT_SOURCE) | O(OPT_LEARNER),
     O(OPT_REASON), 1, 1, "evidence retract ID --reason TEXT [--source S] [--learner L]",
     "Retracts an evidence item: kept, marked, no longer counted (mastery stays). Ids are\n"
     "scoped to their source: --source names the one it was submitted under (default\n"
     "masteryctl, as for evidence add; a tool key always retracts in its own). A cluster\n"
     "needs --learner, the item's learner: it names the node that holds the item."},
    {"credential", "list", cmd_credential_list, O(OPT_LEARNER), O(OPT_LEARNER), 0, 0,
     "credential list --learner L", "Lists the badges issued to a learner."},
    {"credential", "get", cmd_credential_get, O(OPT_FORMAT), 0, 1, 1,
     "credential get ID [--format json|jwt]",
     "Prints a badge exactly as signed: the file a student keeps and shows."},
    {"credential", "bake", cmd_credential_bake,
     O(OPT_PNG) | O(OPT_SVG) | O(OPT_IMAGE) | O(OPT_OUTPUT) | O(OPT_FORMAT), 0, 1, 1,
     "credential bake ID (--png|--svg|--image FILE) [--format json|jwt] [-o FILE]",
     "Bakes a badge into a picture as Open Badges 3.0 specifies (PNG iTXt, SVG element): the\n"
     "given PNG or SVG, or a generated medal. An image already holding a credential is refused.\n"
     "mastery-verify and any Open Badges 3.0 verifier read the credential back."},
    {"credential", "page", cmd_credential_page, O(OPT_OUTPUT) | O(OPT_PUBLIC_URL), 0, 1, 1,
     "credential page ID [--public-url URL] [-o FILE]",
     "Writes the student's badge page: one HTML file holding the signed credential, its\n"
     "picture and description, downloads of the baked PNG and the JSON, a QR code of its\n"
     "public address (with --public-url), and the verifier, so it checks itself offline."},
    {"credential", "publish", cmd_credential_publish, O(OPT_LEARNER) | O(OPT_PUBLIC_URL), 0, 1, 64,
     "credential publish DIR [--learner L] [--public-url URL] [ID ...]",
     "Writes a static site for a web server: badges/<uuid>.html, .json and .png per\n"
     "credential (the given ones and --learner's), the status lists at their URL paths, the\n"
     "did:web DID document at .well-known/did.json, and verify.html. Nothing else."},
    {"credential", "revoke", cmd_credential_revoke, O(OPT_REASON), O(OPT_REASON), 1, 1,
     "credential revoke ID --reason TEXT", "Revokes a badge (final; idempotent)."},
    {"credential", "suspend", cmd_credential_suspend, O(OPT_REASON), O(OPT_REASON), 1, 1,
     "credential suspend ID --reason TEXT", "Suspends a badge until unsuspended."},
    {"credential", "unsuspend", cmd_credential_unsuspend, O(OPT_REASON), 0, 1, 1,
     "credential unsuspend ID [--reason TEXT]", "Lifts a suspension."},
    {"status-list", "export", cmd_status_list_export, O(OPT_LIST), 0, 1, 1,
     "status-list export revocation|suspension [--list N]",
     "Prints the signed status list credential, for the school's web server to publish at\n"
     "its URL (its \"id\"). Lists are numbered from 1; a new one starts when the newest is\n"
     "full or the issuer's did:key changed; publish every one (stderr names their count)."},
    {"issuer", "show", cmd_issuer_show, 0, 0, 0, 0, "issuer show",
     "Shows the issuer: DID, profile, keys."},
    {"issuer", "did-document", cmd_issuer_did_document, 0, 0, 0, 0, "issuer did-document",
     "Prints the did:web DID document (did.json) to publish."},
    {"keys", "rotate", cmd_keys_rotate, 0, 0, 0, 0, "keys rotate",
     "Makes new current signing keys; old ones stay published."},
    {"learner", "transcript", cmd_learner_transcript,
     O(OPT_CLR) | O(OPT_FRAMEWORK) | O(OPT_OUTPUT) | O(OPT_PNG) | O(OPT_SVG) | O(OPT_IMAGE),
     O(OPT_CLR), 1, 1,
     "learner transcript L --clr [--framework F] [-o FILE] [--png|--svg|--image FILE]",
     "Issues a signed 1EdTech CLR 2.0 transcript: every active badge of the learner (of one\n"
     "framework with --framework), with the framework's precedes / isChildOf associations.\n"
     "JSON by default; --png / --svg bake it (keyword clrcredential) into a picture.\n"
     "mastery-verify and the verifier page check it and every badge inside."},
    {"learner", "register-did", cmd_learner_register_did, 0, 0, 2, 2, "learner register-did L DID",
     "Records the DID a learner gave; later badges name it."},
    {"learner", "erase", cmd_learner_erase,
     O(OPT_ERASE_REASON) | O(OPT_REF) | O(OPT_REVOKE) | O(OPT_RECEIPT), 0, 1, 1,
     "learner erase L [--reason TEXT] [--ref REF] [--revoke] [--receipt FILE]",
     "Erases a learner for good (admin): their data key and every record of theirs go in one\n"
     "transaction; their events read back shredded; the log gains an erasure entry. Badges\n"
     "already issued stay valid unless --revoke. Prints the signed erasure receipt, or writes\n"
     "it to --receipt FILE (0600): the daemon does not keep it. Refused under a legal hold."},
    {"learner", "hold", cmd_learner_hold, O(OPT_ERASE_REASON), 0, 1, 1,
     "learner hold L [--reason TEXT]",
     "Places a legal hold (admin): the learner cannot be erased and retention keeps their\n"
     "evidence until released."},
    {"learner", "release", cmd_learner_release, 0, 0, 1, 1, "learner release L",
     "Lifts a legal hold (admin)."},
    {"learner", "reenrol", cmd_learner_reenrol, 0, 0, 1, 1, "learner reenrol L",
     "Makes an erased learner id usable again (admin): it starts with nothing. Until then\n"
     "evidence for it is refused with GONE."},
    {"xapi", "import", cmd_xapi_import, O(OPT_MAPPING) | O(OPT_BATCH) | O(OPT_WINDOW),
     O(OPT_MAPPING), 1, 1, "xapi import FILE|- --mapping MAP.json [--batch N] [--window N]",
     "Imports xAPI statements (a JSON array, or JSON lines) as evidence through a mapping\n"
     "file (clients/XAPI.md); voiding statements retract. Reports every statement that is\n"
     "not mapped by reason and prints a summary. Exit 1 if any was malformed or rejected."},
    {"xapi", "follow", cmd_xapi_follow, O(OPT_MAPPING) | O(OPT_BATCH) | O(OPT_WINDOW),
     O(OPT_MAPPING), 0, 0, "xapi follow --mapping MAP.json [--batch N] [--window N]",
     "A bridge: reads xAPI statements as JSON lines from standard input until it ends (or\n"
     "SIGINT/SIGTERM) and sends them as they come, a batch at least every 200 ms."},
    {"backup", NULL, cmd_backup, 0, 0, 1, 1, "backup DIR",
     "Takes a consistent copy of the store while the daemon serves, with the issuer keys,\n"
     "the CURVE key, the clients file and the settings, into DIR (new or empty) on the\n"
     "daemon's host. Admin only. Restore: README, \"Backup and restore\"."},
    {"log", "checkpoint", cmd_log_checkpoint, 0, 0, 0, 0, "log checkpoint",
     "Prints the transparency log's newest signed checkpoint (C2SP tlog-checkpoint as a\n"
     "signed note; --json adds its root, origin and the issuer's note verifier keys)."},
    {"log", "entry", cmd_log_entry, 0, 0, 1, 1, "log entry INDEX",
     "Prints one log entry: its bytes, leaf hash and fields (commitments, never ids)."},
    {"log", "prove", cmd_log_prove, 0, 0, 1, 1, "log prove INDEX",
     "Prints the inclusion proof of entry INDEX against the newest checkpoint, as a\n"
     "c2sp.org/tlog-proof@v1 file."},
    {"log", "consistency", cmd_log_consistency, 0, 0, 2, 2, "log consistency OLD NEW",
     "Prints the proof that the tree of NEW entries extends the tree of OLD entries."},
    {"log", "export", cmd_log_export, 0, 0, 1, 1, "log export DIR",
     "Mirrors the log into DIR in the C2SP tlog-tiles layout (checkpoint, tile/...,\n"
     "tile/entries/...), for a static web server and for mastery-verify log --monitor.\n"
     "Full tiles already in DIR are kept: run it again to bring a mirror up to date."},
    {"credential", "proof", cmd_credential_proof, O(OPT_OUTPUT), 0, 1, 1,
     "credential proof ID [-o FILE]",
     "Writes the badge with the log entries its evidence names, their inclusion proofs\n"
     "and the signed checkpoint: the bundle mastery-verify --log-proof checks offline."},
    {"roster", "import", cmd_roster_import, O(OPT_ID_COLUMN), 0, 1, 1,
     "roster import DIR [--id-column COLUMN]",
     "Imports classes from a OneRoster 1.2 CSV export in DIR (classes.csv, enrollments.csv,\n"
     "users.csv): each class's learners and teachers replace the stored ones. Only ids are\n"
     "sent; names and e-mail addresses are never read. Prints every warning, naming file and\n"
     "line. Admin only."},
    {"group", "list", cmd_group_list, 0, 0, 0, 0, "group list",
     "Lists the groups (classes) you may see, with their learner and teacher counts."},
    {"group", "show", cmd_group_show, 0, 0, 1, 1, "group show G",
     "Shows a group's teachers and learners."},
    {"group", "report", cmd_group_report, O(OPT_FRAMEWORK) | O(OPT_HTML) | O(OPT_OUTPUT), 0, 1, 1,
     "group report G [--framework F] [--html [-o FILE]]",
     "The teacher's view of a class: per competency locked / unlocked / mastered / review due\n"
     "and the median score, the competencies blocking the most learners, the learners at\n"
     "risk (masteryd(8)). --html writes one self-contained page with a learners x\n"
     "competencies heat map."},
    {"keygen", NULL, cmd_keygen, 0, 0, 1, 1, "keygen FILE",
     "Makes a CURVE key pair for a client: FILE (secret, mode 0600) and FILE.pub."},
};
const size_t N_COMMANDS = sizeof COMMANDS / sizeof COMMANDS[0];
