#!/usr/bin/python3
# sso-broker: write an N-row user-mapping CSV for the import benchmark.
# Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
#
# usage: gen-users-csv.py N [OUT] [--seed S] [--change-every K] [--sfdc FMT]
#                         [--drop-zero-every K]
#   N rows with all ten template columns, in export order, CRLF line ends
#   (like a spreadsheet), extensions with leading zeros, every 50th row with
#   two extensions, a quoted custom field with a comma, and unique
#   Salesforce usernames.  --change-every K alters the extension of every
#   K-th row so that importing over a previous file gives a realistic diff.
#   --drop-zero-every K writes every K-th extension (of the rows not
#   changed) without its leading zeros, as Excel does (000123 -> 123).
#   Deterministic for a given seed.  Writes to OUT or stdout.
#   --sfdc FMT sets the Salesforce ID pattern (a %-format of the row number),
#   e.g. 'user%06d@acme-corp.example.com' to match the NameIDs that
#   bench-peers' gen_responses.py puts in its signed responses.
import argparse
import csv
import random
import sys

HEADERS = ["8x8 Internal ID", "User Name", "First Name", "Last Name", "Email",
           "Extension", "Salesforce ID", "Custom Field 1", "Custom Field 2",
           "Custom Field 3"]
FIRST = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Ken", "Dennis",
         "Radia", "Frances", "Donald", "Zoë", "José"]
LAST = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Thompson",
        "Ritchie", "Perlman", "Allen", "Knuth", "Núñez", "O'Neil"]


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("n", type=int)
    ap.add_argument("out", nargs="?")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--change-every", type=int, default=0)
    ap.add_argument("--drop-zero-every", type=int, default=0)
    ap.add_argument("--sfdc", default="user%d@acme.my.salesforce.example",
                    help="Salesforce ID pattern, %%-format of the row number")
    a = ap.parse_args()
    if a.n < 0 or a.n > 1000000:
        ap.error("N must be 0..1000000")
    rnd = random.Random(a.seed)
    f = open(a.out, "w", newline="", encoding="utf-8") if a.out else sys.stdout
    w = csv.writer(f, lineterminator="\r\n")
    w.writerow(HEADERS)
    for i in range(a.n):
        first = rnd.choice(FIRST)
        last = rnd.choice(LAST)
        ext = "%06d" % (i + 1)
        if a.change_every and i % a.change_every == 0:
            ext = "9" + ext[1:]
        elif a.drop_zero_every and i % a.drop_zero_every == 1:
            ext = ext.lstrip("0") or "0"
        if i % 50 == 0:
            ext += ";%06d" % (500000 + i)
        w.writerow([
            "u%08d" % i,
            "user%d" % i,
            first,
            last,
            "user%d@example.com" % i,
            ext,
            a.sfdc % i,
            "team %d, floor %d" % (i % 97, i % 7),
            "cost-centre-%d" % (i % 13),
            "",
        ])
    if a.out:
        f.close()


if __name__ == "__main__":
    main()
