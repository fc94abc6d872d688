#!/bin/sh
# Make the DEMO / TEST key material for the sso-broker demo (scripts/demo.sh).
#   certs/gen-demo-pki.sh OUTDIR
# Writes into OUTDIR (created, mode 700):
#   idp.key  idp.crt     demo IdP signing key and self-signed certificate
#   sp.key   sp.crt      broker SP key and self-signed certificate (SP metadata)
#   panel.secret         the demo panel's OAuth client secret
#   admin.token          the broker's admin bearer token
# RSA-2048, SHA-256, self-signed, 30 days.  Keys and secrets are mode 600.
# Existing files are kept (the script is idempotent); delete OUTDIR to renew.
# Prints the file names only, never a secret.
# NOT FOR PRODUCTION: these keys are made on the spot for a local demo.
set -eu
[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
out=$1
command -v openssl >/dev/null || { echo "gen-demo-pki: openssl not found" >&2; exit 1; }
umask 077
mkdir -p "$out"
chmod 700 "$out"

pair() { # name CN
	if [ -s "$out/$1.key" ] && [ -s "$out/$1.crt" ] &&
		openssl x509 -in "$out/$1.crt" -noout -checkend 3600 >/dev/null 2>&1; then
		return 0
	fi
	openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 30 \
		-subj "/O=sso-broker demo (NOT FOR PRODUCTION)/CN=$2" \
		-keyout "$out/$1.key.tmp" -out "$out/$1.crt.tmp" >/dev/null 2>&1 ||
		{ echo "gen-demo-pki: openssl failed for $1" >&2; rm -f "$out/$1".*.tmp; exit 1; }
	mv "$out/$1.key.tmp" "$out/$1.key"
	mv "$out/$1.crt.tmp" "$out/$1.crt"
}
secret() { # name
	[ -s "$out/$1" ] && return 0
	openssl rand -base64 48 | tr -d '\n=+/' > "$out/$1.tmp"
	mv "$out/$1.tmp" "$out/$1"
}

pair idp "demo Salesforce IdP"
pair sp "demo sso-broker SP"
secret panel.secret
secret admin.token
chmod 600 "$out/idp.key" "$out/sp.key" "$out/panel.secret" "$out/admin.token"
chmod 644 "$out/idp.crt" "$out/sp.crt"
echo "gen-demo-pki: demo keys in $out (idp.key idp.crt sp.key sp.crt panel.secret admin.token) - demo only"
