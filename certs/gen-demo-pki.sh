#!/bin/sh
# Make the DEMO / TEST key material for the sso-broker demo (scripts/demo.sh).
#   certs/gen-demo-pki.sh OUTDIR
# Writes into OUTDIR (created, mode 700):
#   idp.key  idp.crt     demo IdP signing key and self-signed certificate
#   sp.key   sp.crt      broker SP key and self-signed certificate (SP metadata)
#   panel.secret         the demo panel's OAuth client secret
#   admin.token          the broker's admin bearer token
#   ca.key   ca.crt      demo CA (signs the TLS server certificates below)
#   sfdc.key sfdc.crt    TLS server certificate of the stand-in Salesforce
#                        (demo/sfdc_oauth.py), for 127.0.0.1 and localhost
#   sfdc-client.secret   the broker's OAuth client secret at the stand-in
# RSA-2048, SHA-256, 30 days; idp, sp and the CA are self-signed.  Keys and
# secrets are mode 600.
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
# The demo CA, and the stand-in Salesforce's server certificate signed by it.
# The server certificate is remade when it is missing, about to expire or
# not signed by the CA (a CA made anew invalidates it).
ca() {
	if [ -s "$out/ca.key" ] && [ -s "$out/ca.crt" ] &&
		openssl x509 -in "$out/ca.crt" -noout -checkend 3600 >/dev/null 2>&1; then
		return 0
	fi
	openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 30 \
		-subj "/O=sso-broker demo (NOT FOR PRODUCTION)/CN=sso-broker demo CA" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" \
		-keyout "$out/ca.key.tmp" -out "$out/ca.crt.tmp" >/dev/null 2>&1 ||
		{ echo "gen-demo-pki: openssl failed for ca" >&2; rm -f "$out"/ca.*.tmp; exit 1; }
	mv "$out/ca.key.tmp" "$out/ca.key"
	mv "$out/ca.crt.tmp" "$out/ca.crt"
}
server() { # name CN
	if [ -s "$out/$1.key" ] && [ -s "$out/$1.crt" ] &&
		openssl x509 -in "$out/$1.crt" -noout -checkend 3600 >/dev/null 2>&1 &&
		openssl verify -CAfile "$out/ca.crt" "$out/$1.crt" >/dev/null 2>&1; then
		return 0
	fi
	openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 30 \
		-CA "$out/ca.crt" -CAkey "$out/ca.key" \
		-subj "/O=sso-broker demo (NOT FOR PRODUCTION)/CN=$2" \
		-addext "basicConstraints=critical,CA:FALSE" \
		-addext "keyUsage=critical,digitalSignature,keyEncipherment" \
		-addext "extendedKeyUsage=serverAuth" \
		-addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
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
ca
server sfdc 127.0.0.1
secret sfdc-client.secret
chmod 600 "$out/idp.key" "$out/sp.key" "$out/panel.secret" "$out/admin.token" \
	"$out/ca.key" "$out/sfdc.key" "$out/sfdc-client.secret"
chmod 644 "$out/idp.crt" "$out/sp.crt" "$out/ca.crt" "$out/sfdc.crt"
echo "gen-demo-pki: demo keys in $out (idp.key idp.crt sp.key sp.crt panel.secret admin.token" \
	"ca.key ca.crt sfdc.key sfdc.crt sfdc-client.secret) - demo only"
