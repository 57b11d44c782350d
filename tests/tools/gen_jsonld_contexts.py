#!/usr/bin/env python3
"""Generates lib/ld/jsonld_contexts.c: the JSON-LD contexts masteryd knows, as static C tables.

Usage (from the repository root):
  python3 tests/tools/gen_jsonld_contexts.py tests/vectors/contexts \
    | clang-format --assume-filename=lib/ld/jsonld_contexts.c > lib/ld/jsonld_contexts.c

The published context documents (the reference copies in tests/vectors/contexts) are read as
JSON and turned into term tables; no context text is embedded in the daemon, and no context is
ever fetched. The W3C citizenship v4rc1 context (used only by the vc-di-eddsa "employ" test
vector) is not among the reference copies: its terms are transcribed below from the published
document and checked end to end by the employ vector's canonical form.

The script is strict: a context keyword or term-definition key the C expander does not
implement stops it, so the tables never silently lose a feature.
"""
import json
import os
import sys

URLS = [
    ("https://www.w3.org/ns/credentials/v2", "credentials-v2.jsonld"),
    ("https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json", "ob-context-3.0.3.json"),
    ("https://purl.imsglobal.org/spec/ob/v3p0/extensions.json", "ob-extensions.json"),
    ("https://w3id.org/security/data-integrity/v2", "data-integrity-v2.jsonld"),
    ("https://w3id.org/security/multikey/v1", "multikey-v1.jsonld"),
    ("https://www.w3.org/ns/credentials/status/v1", "vc-bitstring-status-list-v1.jsonld"),
    ("https://www.w3.org/ns/credentials/examples/v2", "credentials-examples-v2.jsonld"),
    ("https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json", "clr-context-2.0.1.json"),
]

CZ = "https://w3id.org/citizenship#"
SO = "https://schema.org/"
DT = "http://www.w3.org/2001/XMLSchema#dateTime"
CITIZENSHIP_V4RC1 = {
    "@context": {
        "@protected": True,
        "birthCountry": CZ + "birthCountry",
        "birthDate": {"@id": SO + "birthDate", "@type": DT},
        "CertificateOfCitizenship": CZ + "CertificateOfCitizenship",
        "CertificateOfCitizenshipCredential": CZ + "CertificateOfCitizenshipCredential",
        "CertificateOfNaturalization": CZ + "CertificateOfNaturalization",
        "CertificateOfNaturalizationCredential": CZ + "CertificateOfNaturalizationCredential",
        "commuterClassification": CZ + "commuterClassification",
        "EmployablePerson": {
            "@id": CZ + "EmployablePerson",
            "@context": {
                "@protected": True,
                "employmentAuthorizationDocument": {
                    "@id": CZ + "employmentAuthorizationDocument", "@type": "@id"},
                "residentSince": {"@id": CZ + "residentSince", "@type": DT},
            },
        },
        "EmploymentAuthorizationDocument": CZ + "EmploymentAuthorizationDocument",
        "EmploymentAuthorizationDocumentCredential":
            CZ + "EmploymentAuthorizationDocumentCredential",
        "familyName": SO + "familyName",
        "gender": SO + "gender",
        "givenName": SO + "givenName",
        "additionalName": SO + "additionalName",
        "identifier": SO + "identifier",
        "image": {"@id": SO + "image", "@type": "@id"},
        "lprCategory": CZ + "lprCategory",
        "lprNumber": CZ + "lprNumber",
        "NaturalizedPerson": {
            "@id": CZ + "NaturalizedPerson",
            "@context": {
                "@protected": True,
                "certificateOfNaturalization": {
                    "@id": CZ + "certificateOfNaturalization", "@type": "@id"},
                "commuterClassification": CZ + "commuterClassification",
                "residence": SO + "address",
                "residentSince": {"@id": CZ + "residentSince", "@type": DT},
            },
        },
        "PermanentResident": {
            "@id": CZ + "PermanentResident",
            "@context": {
                "@protected": True,
                "permanentResidentCard": {"@id": CZ + "permanentResidentCard", "@type": "@id"},
            },
        },
        "PermanentResidentCard": CZ + "PermanentResidentCard",
        "PermanentResidentCardCredential": CZ + "PermanentResidentCardCredential",
        "Person": SO + "Person",
    }
}

CONTAINERS = {"@set": "JSONLD_C_SET", "@list": "JSONLD_C_LIST", "@graph": "JSONLD_C_GRAPH",
              "@language": "JSONLD_C_LANGUAGE"}
TERM_KEYS = {"@id", "@type", "@container", "@context", "@protected"}
CTX_KEYS = {"@protected", "@vocab", "@version"}


def fnv1a(s):
    h = 2166136261
    for b in s.encode("utf-8"):
        h ^= b
        h = (h * 16777619) & 0xFFFFFFFF
    return h


def cstr(s):
    if s is None:
        return "NULL"
    out = '"'
    for ch in s:
        if ch in '"\\':
            out += "\\" + ch
        elif 0x20 <= ord(ch) < 0x7F:
            out += ch
        else:
            raise SystemExit("non-ASCII in context string: %r" % s)
    return out + '"'


class Gen:
    def __init__(self):
        self.ctxs = []       # (symbol, url, ctxobj)
        self.by_canon = {}   # canonical json -> symbol
        self.universe = set()

    def add_ctx(self, ctx, url):
        if not isinstance(ctx, dict):
            raise SystemExit("context is not an object (%s)" % url)
        canon = json.dumps(ctx, sort_keys=True)
        if url is None and canon in self.by_canon:
            return self.by_canon[canon]
        sym = "ctx%d" % len(self.ctxs)
        self.ctxs.append([sym, url, ctx, None])
        if url is None:
            self.by_canon[canon] = sym
        terms = []
        for key, val in ctx.items():
            if key.startswith("@"):
                if key not in CTX_KEYS:
                    raise SystemExit("unsupported context keyword %s in %s" % (key, url))
                if key == "@version" and val != 1.1:
                    raise SystemExit("bad @version")
                continue
            self.universe.add(key)
            t = {"term": key, "id": None, "type": None, "container": [], "context": None,
                 "context_null": False, "protected": -1, "simple": isinstance(val, str)}
            if isinstance(val, str):
                t["id"] = val
            elif isinstance(val, dict):
                for k in val:
                    if k not in TERM_KEYS:
                        raise SystemExit("unsupported term key %s in %s" % (k, key))
                t["id"] = val.get("@id")
                t["type"] = val.get("@type")
                c = val.get("@container")
                if c is not None:
                    for one in (c if isinstance(c, list) else [c]):
                        if one not in CONTAINERS:
                            raise SystemExit("unsupported container %s" % one)
                        t["container"].append(CONTAINERS[one])
                if "@protected" in val:
                    t["protected"] = 1 if val["@protected"] else 0
                if "@context" in val:
                    if val["@context"] is None:
                        t["context_null"] = True
                    else:
                        t["context"] = self.add_ctx(val["@context"], None)
            else:
                raise SystemExit("unsupported term definition for %s" % key)
            terms.append(t)
        terms.sort(key=lambda t: t["term"].encode("utf-8"))
        self.ctxs[[c[0] for c in self.ctxs].index(sym)][3] = terms
        return sym

    def emit(self, out):
        uni = sorted(self.universe, key=lambda s: s.encode("utf-8"))
        tid = {s: i for i, s in enumerate(uni)}
        w = out.write
        w("/*\n * jsonld_contexts.c: GENERATED by tests/tools/gen_jsonld_contexts.py from the "
          "published\n * context documents; do not edit by hand (re-run the script). "
          "test_jsonld checks every\n * table against the reference copies.\n */\n")
        w('#include "jsonld_contexts.h"\n\n#include <string.h>\n\n')
        w("const char *const jsonld_universe[] = {\n")
        for s in uni:
            w("    %s,\n" % cstr(s))
        w("};\nconst size_t jsonld_universe_n = %d;\n\n" % len(uni))
        nslots = 1
        while nslots < 2 * len(uni):
            nslots *= 2
        slots = [-1] * nslots
        for s in uni:
            i = fnv1a(s) & (nslots - 1)
            while slots[i] != -1:
                i = (i + 1) & (nslots - 1)
            slots[i] = tid[s]
        w("#define UNIVERSE_SLOTS %d\nstatic const short universe_slots[UNIVERSE_SLOTS] = {\n"
          % nslots)
        for i in range(0, nslots, 16):
            w("    " + ", ".join(str(x) for x in slots[i:i + 16]) + ",\n")
        w("};\n\n")
        # forward declarations (scoped contexts may be referenced before definition)
        for sym, url, ctx, terms in self.ctxs:
            w("static const jsonld_ctxdef_t %s;\n" % sym)
        w("\n")
        for sym, url, ctx, terms in self.ctxs:
            w("static const jsonld_rawterm_t %s_terms[] = {\n" % sym)
            for t in terms:
                cont = " | ".join(t["container"]) if t["container"] else "0"
                ctxp = "&" + t["context"] if t["context"] else "NULL"
                w("    {%s, %d, %s, %s, %s, %s, %d, %d, %d},\n" % (
                    cstr(t["term"]), tid[t["term"]], cstr(t["id"]), cstr(t["type"]), cont,
                    ctxp, t["protected"], 1 if t["simple"] else 0,
                    1 if t["context_null"] else 0))
            w("};\n")
            vocab = ctx.get("@vocab")
            w("static const jsonld_ctxdef_t %s = {%s, %s, %d, %d, %s_terms, %d};\n\n" % (
                sym, cstr(url), cstr(vocab), 1 if "@vocab" in ctx else 0,
                1 if ctx.get("@protected") else 0, sym, len(terms)))
        urls = [c for c in self.ctxs if c[1] is not None]
        w("const jsonld_ctxdef_t *const jsonld_known_contexts[] = {\n")
        for sym, url, ctx, terms in urls:
            w("    &%s,\n" % sym)
        w("};\nconst size_t jsonld_known_contexts_n = %d;\n\n" % len(urls))
        w(FUNCS)


FUNCS = r'''static uint32_t fnv1a(const char *s, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

int jsonld_universe_find(const char *s, size_t len)
{
    uint32_t i = fnv1a(s, len) & (UNIVERSE_SLOTS - 1);
    for (;;) {
        int id = universe_slots[i];
        if (id < 0)
            return -1;
        const char *t = jsonld_universe[id];
        if (strlen(t) == len && memcmp(t, s, len) == 0)
            return id;
        i = (i + 1) & (UNIVERSE_SLOTS - 1);
    }
}

const jsonld_ctxdef_t *jsonld_ctxdef_find(const char *url, size_t len)
{
    for (size_t i = 0; i < jsonld_known_contexts_n; i++) {
        const char *u = jsonld_known_contexts[i]->url;
        if (strlen(u) == len && memcmp(u, url, len) == 0)
            return jsonld_known_contexts[i];
    }
    return NULL;
}
'''


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    g = Gen()
    for url, name in URLS:
        with open(os.path.join(sys.argv[1], name), encoding="utf-8") as f:
            doc = json.load(f)
        g.add_ctx(doc["@context"], url)
    g.add_ctx(CITIZENSHIP_V4RC1["@context"], "https://w3id.org/citizenship/v4rc1")
    g.emit(sys.stdout)


if __name__ == "__main__":
    main()
