#!/usr/bin/python3
# sso-broker bench: summarize callgrind_annotate output for one sign-in.
# Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
#
#   profile-table.py SELF.txt INCL.txt N
#
# SELF.txt = callgrind_annotate --threshold=100 FILE (self cost),
# INCL.txt = the same with --inclusive=yes; N = sign-ins in the profile.
# Prints Markdown: instructions per sign-in, self cost by library, the
# inclusive cost of the stages of an ACS post, and the top self functions.
import collections
import os
import re
import sys

LINE = re.compile(r"^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(.*?)(?:\s+\[(.*)\])?\s*$")

LIBS = [  # (object basename prefix, label)
    ("libxml2", "libxml2 (parse, c14n, XPath node sets, free)"),
    ("libxmlsec1-openssl", "xmlsec (transforms, dsig context, key lookup)"),
    ("libxmlsec1", "xmlsec (transforms, dsig context, key lookup)"),
    ("libcrypto", "OpenSSL libcrypto (RSA, SHA-256, base64, key params)"),
    ("libjansson", "jansson (audit JSON, Redis replies)"),
    ("libhiredis", "hiredis (command format, reply parse)"),
    ("libevent", "libevent / evhttp (HTTP, URI decode)"),
    ("libc.so", "libc (malloc/free, memcpy, printf)"),
    ("sso-broker", "our code (broker/, saml/, policy/)"),
]

# (label, function names: the first found is used)
STAGES = [
    ("whole ACS request (front_public_cb)", ["front_public_cb"]),
    ("form body: URL-decode + checks (front_form_parse)", ["front_form_parse"]),
    ("  of which evhttp_uridecode", ["evhttp_uridecode"]),
    ("base64 decode (bk_b64_decode)", ["bk_b64_decode"]),
    ("  of which EVP_DecodeBlock", ["EVP_DecodeBlock"]),
    ("SAML verify, all checks (saml_response_verify)", ["saml_response_verify"]),
    ("  libxml2 parse + shape limits (saml_xml_parse)", ["saml_xml_parse"]),
    ("    byte pre-scan (saml_lim_prescan)", ["saml_lim_prescan"]),
    ("  signature (saml_sig_verify)", ["saml_sig_verify"]),
    ("    SignedInfo: c14n + RSA with the pinned key (saml_si_key)", ["saml_si_key"]),
    ("      RSA-2048 verify (RSA_public_decrypt)", ["RSA_public_decrypt", "RSA_verify"]),
    ("    Reference: xmlsec (xmlSecDSigReferenceCtxProcessNode)", ["xmlSecDSigReferenceCtxProcessNode"]),
    ("      URI #ID by XPointer (xmlSecTransformCtxSetUri)", ["xmlSecTransformCtxSetUri"]),
    ("      node-set visibility (xmlSecNodeSetContains)", ["xmlSecNodeSetContains"]),
    ("  exc-c14n, both (xmlC14NExecute)", ["xmlC14NExecute"]),
    ("  SHA-256, all callers (SHA256_Update)", ["SHA256_Update"]),
    ("  xmlsec full verification (xmlSecDSigCtxVerify, before issue 7)", ["xmlSecDSigCtxVerify"]),
    ("  key type lookup (xmlSecKeyGetType, before issue 7)", ["xmlSecKeyGetType"]),
    ("  free the document (xmlFreeDoc)", ["xmlFreeDoc"]),
    ("Redis: send commands (redisAsyncCommandArgv)", ["redisAsyncCommandArgv"]),
    ("Redis: replies + continuations (redisAsyncHandleRead)", ["redisAsyncHandleRead"]),
    ("  after the decision: session, code, audit, reply (flow_decided)", ["flow_decided", "front_acs_decided"]),
    ("  audit record (front_audit)", ["front_audit"]),
    ("    json_dumps, all callers (the two audit halves, stored records)", ["json_dumps"]),
    ("log lines (log_emit)", ["log_emit"]),
    ("send the HTTP reply (evhttp_send_reply)", ["evhttp_send_reply"]),
    ("malloc + free (all callers)", ["malloc", "free"]),
]


def parse(path):
    total, rows = 0, []
    for line in open(path, errors="replace"):
        if "PROGRAM TOTALS" in line:
            total = int(line.split()[0].replace(",", ""))
            continue
        m = LINE.match(line)
        if not m:
            continue
        cost = int(m.group(1).replace(",", ""))
        where = m.group(2)
        fn = where.split(":", 1)[1] if ":" in where else where
        rows.append((cost, fn, m.group(3) or ""))
    return total, rows


def main():
    total, selfrows = parse(sys.argv[1])
    _, inclrows = parse(sys.argv[2])
    n = int(sys.argv[3])
    per = total / n
    print("Instructions (Ir) in the worker: %s for %d sign-ins = **%s per sign-in**"
          % ("{:,}".format(total), n, "{:,.0f}".format(per)))
    print()
    # self cost by library; entries that claim ~all of the program are
    # callgrind artefacts of the frames live when the counters were zeroed
    bylib = collections.Counter()
    top = []
    for cost, fn, obj in selfrows:
        if cost >= 0.98 * total:
            continue
        base = os.path.basename(obj)
        label = next((l for p, l in LIBS if base.startswith(p)), "other (%s)" % (base or "?"))
        bylib[label] += cost
        top.append((cost, fn, base))
    print("| library (self cost) | Ir per sign-in | share |")
    print("|---|---:|---:|")
    for label, cost in bylib.most_common():
        print("| %s | %s | %.1f %% |" % (label, "{:,.0f}".format(cost / n), 100.0 * cost / total))
    print()
    incl = {}
    for cost, fn, obj in inclrows:
        name = fn.split("'")[0]
        incl[name] = max(incl.get(name, 0), cost)
    print("| stage (inclusive) | Ir per sign-in | share |")
    print("|---|---:|---:|")
    for label, names in STAGES:
        if label.startswith("malloc"):
            cost = sum(incl.get(x, 0) for x in names)
        else:
            cost = next((incl[x] for x in names if x in incl), None)
        if cost is None:
            continue
        print("| %s | %s | %.1f %% |" % (label.replace("  ", "&nbsp;&nbsp;"),
              "{:,.0f}".format(cost / n), 100.0 * cost / total))
    print()
    print("| top self functions | library | Ir per sign-in | share |")
    print("|---|---|---:|---:|")
    for cost, fn, base in sorted(top, reverse=True)[:15]:
        print("| %s | %s | %s | %.1f %% |" % (fn, base, "{:,.0f}".format(cost / n), 100.0 * cost / total))


if __name__ == "__main__":
    main()
