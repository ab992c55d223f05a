#!/usr/bin/env python3
"""Extracts the RFC 9180 test vectors of learnvault's one HPKE suite
(mode 0 base, kem 0x0020, kdf 0x0001, aead 0x0001) from the final HPKE
text (the auth48 rendering, whose appendix "Test Vectors" is generated
from the CFRG test-vectors.json) into base-x25519-sha256-aes128gcm.json.

Usage: extract.py DRAFT.txt > base-x25519-sha256-aes128gcm.json
(see README.md for where DRAFT.txt comes from)."""
import json
import re
import sys

SECTION = "DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM"


def body_lines(text):
    """The lines of the suite's "Base Setup Information" section up to
    the next setup section, without page headers and footers."""
    lines = text.splitlines()
    start = next(i for i, l in enumerate(lines) if l.endswith(SECTION) and re.match(r"^[A-Z]\.\d+\.  ", l))
    base = next(i for i in range(start, len(lines)) if re.match(r"^[A-Z]\.\d+\.1\.  Base Setup Information", lines[i]))
    end = next(i for i in range(base + 1, len(lines)) if re.match(r"^[A-Z]\.\d+\.2\.  ", lines[i]))
    out = []
    for l in lines[base + 1:end]:
        if l.startswith("Barnes, et al.") or l.startswith("Internet-Draft") or "\f" in l:
            continue
        out.append(l)
    return out


def records(lines):
    """Groups "   key: value" lines (values may continue on following
    indented lines) into dicts separated by blank lines or headings."""
    recs, cur, key = [], {}, None
    for l in lines:
        if not l.strip() or re.match(r"^[A-Z]\.\d", l):
            if cur:
                recs.append(cur)
            cur, key = {}, None
            continue
        m = re.match(r"^   ([a-z_A-Z ]+):(.*)$", l)
        if m:
            key = m.group(1)
            cur[key] = m.group(2).strip()
        elif key is not None:
            cur[key] += l.strip()
    if cur:
        recs.append(cur)
    return recs


def main():
    text = open(sys.argv[1], encoding="utf-8").read()
    recs = records(body_lines(text))
    setup = {}
    encs, exps = [], []
    for r in recs:
        if "sequence number" in r:
            encs.append({"sequence_number": int(r["sequence number"]), "pt": r["pt"], "aad": r["aad"],
                         "nonce": r["nonce"], "ct": r["ct"]})
        elif "exported_value" in r:
            exps.append({"exporter_context": r["exporter_context"], "L": int(r["L"]),
                         "exported_value": r["exported_value"]})
        else:
            setup.update(r)
    for k in ("mode", "kem_id", "kdf_id", "aead_id"):
        setup[k] = int(setup[k])
    assert (setup["mode"], setup["kem_id"], setup["kdf_id"], setup["aead_id"]) == (0, 32, 1, 1)
    setup["encryptions"] = encs
    setup["exports"] = exps
    json.dump(setup, sys.stdout, indent=1)
    sys.stdout.write("\n")


main()
