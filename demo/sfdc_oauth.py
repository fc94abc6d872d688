#!/usr/bin/python3
"""A stand-in Salesforce OAuth 2.0 / OpenID Connect authorization server for the sso-broker.

DEMO AND TEST ONLY: fixed users with the password "demo", keys made on the spot.

The OAuth is authlib's (python3-authlib 1.2): its AuthorizationServer, AuthorizationCodeGrant,
client authentication (client_secret_basic, client_secret_post), PKCE (rfc7636 CodeChallenge, S256
only and always required), the OpenID Connect code flow (nonce required, replay refused), Bearer
token validation (rfc6750) and every JOSE operation (RSA keys, JWKS, RS256 ID tokens, at_hash).
Written here are only Salesforce's own shapes: its URLs, the identity URL
https://HOST/id/<orgId>/<userId> as the ID token's sub and the token response's id, 15 and 18
character record IDs, the token response (instance_url, id, issued_at in ms, signature =
base64(HMAC-SHA256(client secret, id + issued_at)), never a refresh token), UserInfo and the
identity URL answer, and the pages: a login form, then "Allow Access?" with Allow and Deny the
first time a user authorizes a client (later authorizations are silent).

  sfdc_oauth.py --port 8446 --cert sfdc.crt --key sfdc.key --client-id ID --client-secret-file F \
                --redirect-uri https://broker.example/t/demo/oidc/callback [--test-control] \
                [--mode NAME[=VALUE] ...] [--users users.csv] [--user NAME ...]

It prints its base URL (the issuer) on stdout once it listens (--port 0 picks a free port).

Routes: GET /.well-known/openid-configuration, GET /id/keys, GET /services/oauth2/authorize,
POST /login, POST /services/oauth2/authorize (Allow / Deny), POST /services/oauth2/token,
GET|POST /services/oauth2/userinfo, GET /id/<org>/<user>, POST /services/oauth2/revoke,
GET /secur/logout.jsp, GET /healthz, GET /_stats; with --test-control also GET|POST /_test/mode,
POST /_test/keys, /_test/users, /_test/clients, /_test/reset and GET /_test/evil/keys (the
attacker's JWKS that jku_header points to).  Misbehaving modes: see MODES below and demo/README.md.
Standard library http.server + ssl (TLS 1.2 or newer) and authlib.  Listens on 127.0.0.1 only.
Logs go to stderr and carry no secret, code, token or query string.
"""
import argparse
import base64
import csv
import hashlib
import hmac
import html
import http.server
import json
import secrets
import ssl
import sys
import threading
import time
import urllib.parse

from authlib.common.encoding import json_dumps, to_unicode, urlsafe_b64encode
from authlib.common.urls import add_params_to_uri
from authlib.jose import JsonWebKey, JsonWebSignature
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import (AuthorizationCodeMixin, AuthorizationServer, ClientMixin,
                                    HttpRequest, OAuth2Request, ResourceProtector, TokenMixin, grants)
from authlib.oauth2.rfc6749.errors import (AccessDeniedError, InvalidRequestError,
                                           InvalidScopeError)
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core.errors import ConsentRequiredError
from authlib.oidc.core.grants import OpenIDCode
from authlib.oidc.core.util import create_half_hash

from webbase import SALESFORCE_STYLE, DemoHandler, JsonMixin, make_log, serve, strip_query

DEMO_PASSWORD = 'demo'
DEFAULT_ORG = '00DDM0000000001'        # 15-character org ID; the identity URL carries its 18 form
OTHER_ORG = '00DEV0000000666'          # wrong_org: a valid ID token of another org
DEMO_USERS = ('alice@demo.example', 'bob@demo.example', 'mallory@demo.example', 'admin@demo.example',
              'auditor@demo.example')
DEFAULT_CLIENT_NAME = 'sso-broker (demo)'
COOKIE = 'demo_sfdc_sid'   # cookies are per host, not per port: keep clear of the broker's names
SESSION_TTL = 8 * 3600
CODE_TTL = 900             # Salesforce: 15 minutes
TOKEN_TTL = 7200
ID_TOKEN_TTL = 300
PENDING_TTL = 600
FIRST_KID = 242            # Salesforce's kids are small numbers as strings ("226", "242")
SCOPES = ('openid', 'id', 'profile', 'email', 'address', 'phone', 'api', 'web', 'full',
          'refresh_token', 'offline_access')
SCOPE_TEXT = {
    'openid': 'Access unique user identifiers (openid)',
    'id': 'Access the identity URL service (id, profile, email, address, phone)',
    'profile': 'Access the identity URL service (id, profile, email, address, phone)',
    'email': 'Access the identity URL service (id, profile, email, address, phone)',
    'address': 'Access the identity URL service (id, profile, email, address, phone)',
    'phone': 'Access the identity URL service (id, profile, email, address, phone)',
    'api': 'Manage user data via APIs (api)',
    'web': 'Manage user data via Web browsers (web)',
    'full': 'Full access (full)',
    'refresh_token': 'Perform requests at any time (refresh_token, offline_access)',
    'offline_access': 'Perform requests at any time (refresh_token, offline_access)',
}

# Misbehaving modes: name -> (accepted value types, what it does).  A mode is on when its value
# is true; str/int values refine it.  They stay on until replaced (POST /_test/mode replaces the
# whole set, {} turns everything off).
MODES = {
    'bad_signature': ((bool,), 'the ID token signature is broken (one bit flipped)'),
    'unknown_kid': ((bool, str), 'the ID token names a kid the JWKS does not have'),
    'alg_none': ((bool,), 'the ID token is {"alg":"none"} with an empty signature'),
    'hs256_with_public_key': ((bool,), 'the ID token is HS256, keyed with the PEM of the RSA public key'),
    'jku_header': ((bool, str), 'the ID token is signed by an attacker key published at the URL in its '
                                'jku header (default: this server\'s /_test/evil/keys), not in /id/keys'),
    'wrong_iss': ((bool, str), 'iss is another issuer (default https://test.salesforce.com)'),
    'wrong_aud': ((bool, str), 'aud is another client_id'),
    'extra_aud': ((bool, str), 'aud is [client_id, another], no azp'),
    'aud_array': ((bool,), 'aud is [client_id] (a valid token: a positive control)'),
    'expired': ((bool,), 'exp is 5 minutes ago'),
    'no_nonce': ((bool,), 'the ID token has no nonce'),
    'wrong_nonce': ((bool, str), 'the ID token has another nonce'),
    'wrong_at_hash': ((bool,), 'at_hash is of another access token'),
    'wrong_org': ((bool, str), 'the identity URL (sub, id, UserInfo) is of another org, all consistent'),
    'identity_other_user': ((bool,), 'the token response id names another user than the ID token sub'),
    'userinfo_wrong_sub': ((bool,), 'UserInfo and the identity URL answer are about another user'),
    'bad_token_signature': ((bool,), 'the token response signature is wrong'),
    'token_delay_ms': ((int,), 'the token endpoint waits this long before it answers'),
    'token_status': ((int,), 'the token endpoint answers this HTTP status with an error body'),
    'rotate_keys': ((bool,), 'on being set: a new key is added to /id/keys and signs from now on'),
    'error': ((str,), 'the authorize endpoint redirects at once with error=<value>&state=...'),
    'error_description': ((str,), 'the error_description sent with error'),
    'short_ids': ((bool,), 'the identity URL carries 15-character IDs instead of 18'),
    'discovery_http': ((bool,), 'the discovery document names an http:// token endpoint'),
    'discovery_status': ((int,), 'the discovery document answers this HTTP status'),
    'jwks_status': ((int,), '/id/keys answers this HTTP status'),
    'claims': ((dict,), 'ID token claims to set (a null value removes the claim), applied last'),
    'header': ((dict,), 'ID token header members to set (null removes), applied last'),
}

# GET /_stats: requests per endpoint and what came of them (all start at 0).
STATS = ('discovery', 'jwks', 'authorize', 'login', 'approve', 'token', 'userinfo', 'identity', 'revoke',
         'evil_jwks', 'login_forms', 'failed_logins', 'consent_pages', 'denied', 'authorize_errors',
         'codes_issued', 'tokens_issued', 'token_errors')

log = make_log('sfdc-standin')


# ---------------------------------------------------------------- Salesforce IDs

_SFID_SUFFIX = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345'
_B62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'


def sfid18(id15):
    """The 18-character form of a 15-character Salesforce ID (3 characters of case flags)."""
    out = id15
    for i in range(3):
        flags = sum(1 << j for j in range(5) if 'A' <= id15[i * 5 + j] <= 'Z')
        out += _SFID_SUFFIX[flags]
    return out


def user_id_for(username):
    """A stable 15-character user ID (prefix 005) derived from the username."""
    n = int.from_bytes(hashlib.sha256(username.lower().encode()).digest(), 'big')
    tail = ''
    for _ in range(12):
        n, r = divmod(n, 62)
        tail += _B62[r]
    return '005' + tail


class User:
    def __init__(self, username):
        self.username = username
        self.user_id = user_id_for(username)
        local = username.split('@', 1)[0]
        self.first = local[:1].upper() + local[1:]
        self.last = 'Agent'
        self.name = f'{self.first} {self.last}'

    def get_user_id(self):
        return self.user_id


# ---------------------------------------------------------------- keys

class Keys:
    """The provider's RSA-2048 signing keys (authlib JsonWebKey), by kid; one is active."""

    def __init__(self):
        self.lock = threading.Lock()
        self.keys = {}
        self.next_kid = FIRST_KID
        self.active = self.add()
        self.evil = JsonWebKey.generate_key('RSA', 2048, is_private=True, options={'kid': 'evil-1'})

    def add(self):
        with self.lock:
            kid = str(self.next_kid)
            self.next_kid += 2
        key = JsonWebKey.generate_key('RSA', 2048, is_private=True, options={'kid': kid})
        with self.lock:
            self.keys[kid] = key
        log(f'key {kid} added to the JWKS')
        return kid

    def activate(self, kid):
        with self.lock:
            if kid not in self.keys:
                raise KeyError(kid)
            self.active = kid
        log(f'key {kid} signs from now on')

    def rotate(self):
        kid = self.add()
        self.activate(kid)
        return kid

    def remove(self, kid):
        with self.lock:
            if kid == self.active or kid not in self.keys:
                raise KeyError(kid)
            del self.keys[kid]
        log(f'key {kid} removed from the JWKS')

    def signer(self):
        with self.lock:
            return self.active, self.keys[self.active]

    @staticmethod
    def public(key):
        d = key.as_dict(is_private=False)
        d.update({'alg': 'RS256', 'use': 'sig'})
        return d

    def jwks(self):
        with self.lock:
            keys = list(self.keys.values())
        return {'keys': [self.public(k) for k in keys]}

    def state(self):
        with self.lock:
            return {'kids': list(self.keys), 'active': self.active}


# ---------------------------------------------------------------- authlib models

class Client(ClientMixin):
    """A connected app: consumer key, consumer secret, callback URLs (exact match)."""

    def __init__(self, client_id, secret, redirect_uris, name=DEFAULT_CLIENT_NAME):
        self.client_id, self.secret, self.name = client_id, secret, name
        self.redirect_uris = list(redirect_uris)

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return None              # Salesforce requires redirect_uri

    def get_allowed_scope(self, scope):
        return ' '.join(s for s in scope.split() if s in SCOPES)

    def check_redirect_uri(self, redirect_uri):
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret):
        return hmac.compare_digest(client_secret.encode(), self.secret.encode())

    def check_endpoint_auth_method(self, method, endpoint):
        return method in ('client_secret_basic', 'client_secret_post')

    def check_response_type(self, response_type):
        return response_type == 'code'

    def check_grant_type(self, grant_type):
        return grant_type == 'authorization_code'    # never refresh_token


class Code(AuthorizationCodeMixin):
    def __init__(self, code, request):
        self.code = code
        self.client_id = request.client.client_id
        self.redirect_uri = request.redirect_uri
        self.scope = request.scope
        self.user = request.user
        self.nonce = request.data.get('nonce')
        self.code_challenge = request.data.get('code_challenge')
        self.code_challenge_method = request.data.get('code_challenge_method')
        self.auth_time = int(time.time())
        self.expires = time.time() + CODE_TTL

    def get_redirect_uri(self):
        return self.redirect_uri

    def get_scope(self):
        return self.scope

    def get_nonce(self):
        return self.nonce

    def get_auth_time(self):
        return self.auth_time


class Token(TokenMixin):
    def __init__(self, access_token, client_id, user, scope, identity, modes):
        self.access_token, self.client_id, self.user = access_token, client_id, user
        self.scope, self.identity, self.modes = scope, identity, modes
        self.expires = time.time() + TOKEN_TTL
        self.revoked = False

    def check_client(self, client):
        return client.client_id == self.client_id

    def get_scope(self):
        return self.scope

    def get_expires_in(self):
        return TOKEN_TTL

    def is_expired(self):
        return time.time() > self.expires

    def is_revoked(self):
        return self.revoked


class S256Only(CodeChallenge):
    """PKCE as Salesforce can require it per connected app: always, and S256 only."""
    DEFAULT_CODE_CHALLENGE_METHOD = 'S256'
    SUPPORTED_CODE_CHALLENGE_METHOD = ['S256']

    def validate_code_challenge(self, grant):
        data = grant.request.data
        if not data.get('code_challenge'):
            raise InvalidRequestError('missing required code challenge')
        if data.get('code_challenge_method') != 'S256':
            raise InvalidRequestError('code_challenge_method must be S256')
        super().validate_code_challenge(grant)


def require_state_and_openid(grant):
    """The stand-in's rules on top of RFC 6749: a state, and the openid scope."""
    req = grant.request
    if not req.state:
        raise InvalidRequestError('missing required state')
    if 'openid' not in (req.scope or '').split():
        raise InvalidScopeError('the openid scope is required', state=req.state)


class CodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post']
    AUTHORIZATION_CODE_LENGTH = 64

    def validate_authorization_request(self):
        self.register_hook('after_validate_authorization_request', require_state_and_openid)
        return super().validate_authorization_request()

    def create_authorization_response(self, redirect_uri, grant_user):
        if not grant_user:   # Salesforce's wording of a Deny
            raise AccessDeniedError(description='end-user denied authorization',
                                    state=self.request.state, redirect_uri=redirect_uri)
        return super().create_authorization_response(redirect_uri, grant_user)

    def save_authorization_code(self, code, request):
        self.server.sf.code_put(Code(code, request))

    def query_authorization_code(self, code, client):
        return self.server.sf.code_take(code, client.client_id)

    def delete_authorization_code(self, authorization_code):
        pass                 # code_take consumed it: a code works exactly once

    def authenticate_user(self, authorization_code):
        return authorization_code.user


class SalesforceOpenIDCode(OpenIDCode):
    """The ID token and the rest of Salesforce's token response, modes applied."""

    def __init__(self, sf):
        super().__init__(require_nonce=True)
        self.sf = sf

    def exists_nonce(self, nonce, request):
        return self.sf.nonce_seen(request.client_id, nonce)

    def process_token(self, grant, token):
        self.sf.finish_token(grant.request, token)
        return token


class SalesforceBearer(BearerTokenValidator):
    def __init__(self, sf):
        super().__init__()
        self.sf = sf

    def authenticate_token(self, token_string):
        return self.sf.token_get(token_string)


class Server(AuthorizationServer):
    """authlib's AuthorizationServer on our http.server handler's requests."""

    def __init__(self, sf):
        super().__init__(scopes_supported=list(SCOPES))
        self.sf = sf
        self.register_grant(CodeGrant, [S256Only(), SalesforceOpenIDCode(sf)])
        self.register_token_generator('default', sf.new_token)

    def query_client(self, client_id):
        return self.sf.client(client_id)

    def save_token(self, token, request):
        self.sf.token_put(token, request)

    def create_oauth2_request(self, request):
        return request

    def create_json_request(self, request):
        return request

    def handle_response(self, status, body, headers):
        return status, body, headers

    def send_signal(self, name, *args, **kwargs):
        pass

    def handle_error_response(self, request, error):
        if error.redirect_uri and not error.state and request.state:
            error.state = request.state       # authlib's prompt errors leave it out
        return super().handle_error_response(request, error)


# ---------------------------------------------------------------- the provider

def check_modes(modes):
    """A validated copy of a mode set; ValueError names the first bad entry."""
    if not isinstance(modes, dict):
        raise ValueError('modes must be a JSON object')
    out = {}
    for k, v in modes.items():
        if k not in MODES:
            raise ValueError(f'unknown mode {k!r}; known: {", ".join(sorted(MODES))}')
        types = MODES[k][0]
        if isinstance(v, bool) and bool not in types and int in types:
            raise ValueError(f'mode {k} takes a number')
        if not isinstance(v, types):
            raise ValueError(f'mode {k} takes {" or ".join(t.__name__ for t in types)}')
        out[k] = v
    return out


class Salesforce:
    """Users, clients, sessions, consents, codes and tokens of one stand-in org (in memory)."""

    def __init__(self, base, org_id=DEFAULT_ORG, test_control=False):
        self.base = base.rstrip('/')
        self.org_id = org_id
        self.test_control = test_control
        self.lock = threading.Lock()
        self.keys = Keys()
        self.users = {}
        self.clients = {}
        self.sessions = {}       # sid -> (username, expiry)
        self.pending = {}        # token -> (query, username or None, expiry)
        self.consents = set()    # (username, client_id)
        self.codes = {}          # code -> Code
        self.used_codes = {}     # code -> [access tokens]: a replayed code revokes them
        self.tokens = {}         # access token -> Token
        self.nonces = set()      # (client_id, nonce)
        self.modes = {}
        self.stats = dict.fromkeys(STATS, 0)
        for u in DEMO_USERS:
            self.add_user(u)
        self.server = Server(self)
        self.protector = ResourceProtector()
        self.protector.register_token_validator(SalesforceBearer(self))

    # -- registry
    def add_user(self, username):
        username = username.strip().lower()
        if username:
            with self.lock:
                self.users.setdefault(username, User(username))

    def user(self, username):
        with self.lock:
            return self.users.get((username or '').strip().lower())

    def add_client(self, client):
        with self.lock:
            self.clients[client.client_id] = client

    def client(self, client_id):
        with self.lock:
            return self.clients.get(client_id)

    def count(self, name, n=1):
        with self.lock:
            self.stats[name] = self.stats.get(name, 0) + n

    def stats_copy(self):
        with self.lock:
            return dict(self.stats)

    def set_modes(self, modes):
        modes = check_modes(modes)
        if modes.get('rotate_keys'):
            self.keys.rotate()
        with self.lock:
            self.modes = modes
        log('modes: ' + (', '.join(sorted(modes)) or 'none'))

    def mode_snapshot(self):
        with self.lock:
            return dict(self.modes)

    def reset(self):
        with self.lock:
            self.modes, self.stats = {}, dict.fromkeys(STATS, 0)
            self.sessions.clear()
            self.pending.clear()
            self.consents.clear()
            self.codes.clear()
            self.used_codes.clear()
            self.tokens.clear()
            self.nonces.clear()
        log('reset: modes, stats, sessions, consents, codes and tokens cleared')

    # -- identity
    def identity_url(self, user, modes, org=None):
        org = org or (modes.get('wrong_org') if isinstance(modes.get('wrong_org'), str) else
                      OTHER_ORG if modes.get('wrong_org') else self.org_id)
        uid = user.user_id
        if not modes.get('short_ids'):
            org, uid = sfid18(org), sfid18(uid)
        return f'{self.base}/id/{org}/{uid}'

    # -- browser sessions, pending requests, consent
    def session_user(self, sid):
        with self.lock:
            s = self.sessions.get(sid or '')
            if s and s[1] > time.time():
                return self.users.get(s[0])
            self.sessions.pop(sid or '', None)
        return None

    def new_session(self, user):
        sid = secrets.token_urlsafe(32)
        with self.lock:
            self.sessions[sid] = (user.username, time.time() + SESSION_TTL)
        return sid

    def end_session(self, sid):
        with self.lock:
            self.sessions.pop(sid or '', None)

    def stash(self, query, username=None):
        tok = secrets.token_urlsafe(32)
        now = time.time()
        with self.lock:
            for k in [k for k, v in self.pending.items() if v[2] < now]:
                del self.pending[k]
            self.pending[tok] = (query, username, now + PENDING_TTL)
        return tok

    def unstash(self, tok):
        with self.lock:
            v = self.pending.pop(tok or '', None)
        return v if v and v[2] > time.time() else None

    def consented(self, user, client_id):
        with self.lock:
            return (user.username, client_id) in self.consents

    def consent(self, user, client_id):
        with self.lock:
            self.consents.add((user.username, client_id))

    # -- codes (single use, atomic) and nonces
    def code_put(self, code):
        with self.lock:
            self.codes[code.code] = code
            self.nonces.add((code.client_id, code.nonce))
        self.count('codes_issued')

    def code_take(self, code, client_id):
        with self.lock:
            c = self.codes.get(code)
            if c is None:
                for at in self.used_codes.get(code, ()):   # RFC 6749 4.1.2: revoke on replay
                    t = self.tokens.get(at)
                    if t:
                        t.revoked = True
                if code in self.used_codes:
                    log('a used code was presented again: its tokens are revoked')
                return None
            if c.client_id != client_id:
                return None
            del self.codes[code]
            self.used_codes[code] = []
        return c if c.expires > time.time() else None

    def nonce_seen(self, client_id, nonce):
        with self.lock:
            return (client_id, nonce) in self.nonces

    # -- tokens
    def new_token(self, grant_type, client, user=None, scope=None, expires_in=None,
                  include_refresh_token=False):
        """authlib's token generator: a Salesforce-shaped access token, never a refresh token."""
        return {'access_token': self.org_id + '!' + secrets.token_urlsafe(72), 'token_type': 'Bearer',
                'scope': scope}

    def token_put(self, token, request):
        modes = request.modes
        t = Token(token['access_token'], request.client.client_id, request.user, token['scope'],
                  self.identity_url(request.user, modes), modes)
        with self.lock:
            self.tokens[t.access_token] = t
            self.used_codes.setdefault(request.credential.code, []).append(t.access_token)

    def token_get(self, access_token):
        with self.lock:
            return self.tokens.get(access_token)

    def revoke(self, access_token):
        with self.lock:
            t = self.tokens.get(access_token)
            if t:
                t.revoked = True

    def finish_token(self, request, token):
        """Salesforce's token response around authlib's: id, instance_url, issued_at, signature,
        id_token (modes applied); never refresh_token, no expires_in."""
        modes, user, client = request.modes, request.user, request.client
        ident = self.identity_url(user, modes)
        rid = ident
        if modes.get('identity_other_user'):
            rid = self.identity_url(User('someone-else@' + user.username.split('@')[-1]), modes)
        issued_at = str(int(time.time() * 1000))
        key = client.secret + ('-not-the-secret' if modes.get('bad_token_signature') else '')
        sig = base64.b64encode(hmac.new(key.encode(), (rid + issued_at).encode(), hashlib.sha256).digest())
        token.pop('refresh_token', None)
        token.pop('expires_in', None)
        token.update({'signature': sig.decode(), 'instance_url': self.base, 'id': rid, 'issued_at': issued_at,
                      'id_token': self.id_token(request, token['access_token'], ident, modes)})
        self.count('tokens_issued')

    def claims(self, request, access_token, ident, modes):
        user, client, scope = request.user, request.client, (request.credential.scope or '').split()
        now = int(time.time())
        c = {'at_hash': to_unicode(create_half_hash(access_token, 'RS256')), 'sub': ident,
             'aud': client.client_id, 'iss': self.base, 'exp': now + ID_TOKEN_TTL, 'iat': now,
             'nonce': request.credential.nonce}
        if 'profile' in scope:
            c.update({'preferred_username': user.username, 'name': user.name, 'given_name': user.first,
                      'family_name': user.last, 'nickname': user.username.split('@')[0]})
        if 'email' in scope:
            c.update({'email': user.username, 'email_verified': True})
        if modes.get('wrong_iss'):
            c['iss'] = modes['wrong_iss'] if isinstance(modes['wrong_iss'], str) else 'https://test.salesforce.com'
        if modes.get('wrong_aud'):
            c['aud'] = modes['wrong_aud'] if isinstance(modes['wrong_aud'], str) else 'another-connected-app'
        if modes.get('extra_aud'):
            c['aud'] = [client.client_id,
                        modes['extra_aud'] if isinstance(modes['extra_aud'], str) else 'evil-connected-app']
        if modes.get('aud_array'):
            c['aud'] = [client.client_id]
        if modes.get('expired'):
            c['iat'], c['exp'] = now - 400, now - 300
        if modes.get('no_nonce'):
            del c['nonce']
        if modes.get('wrong_nonce'):
            c['nonce'] = modes['wrong_nonce'] if isinstance(modes['wrong_nonce'], str) else secrets.token_urlsafe(32)
        if modes.get('wrong_at_hash'):
            c['at_hash'] = to_unicode(create_half_hash(access_token + 'x', 'RS256'))
        return patch(c, modes.get('claims'))

    def id_token(self, request, access_token, ident, modes):
        """The ID token: RS256 by authlib.jose with the active key and its kid, or a broken one."""
        claims = self.claims(request, access_token, ident, modes)
        kid, key = self.keys.signer()
        header = {'alg': 'RS256', 'kid': kid, 'typ': 'JWT'}
        if modes.get('unknown_kid'):
            header['kid'] = modes['unknown_kid'] if isinstance(modes['unknown_kid'], str) else 'unknown-' + secrets.token_hex(4)
        if modes.get('jku_header'):
            key = self.keys.evil
            header['kid'] = key.kid
            header['jku'] = modes['jku_header'] if isinstance(modes['jku_header'], str) else self.base + '/_test/evil/keys'
        header = patch(header, modes.get('header'))
        if modes.get('alg_none'):
            header['alg'] = 'none'
            tok = to_unicode(JsonWebSignature(algorithms=['none']).serialize_compact(
                header, json_dumps(claims), None))
        elif modes.get('hs256_with_public_key'):
            # authlib refuses a PEM public key as an HMAC key ("may not be safe"): that refusal
            # is the point of the attack, so this one MAC is computed by hand.
            header['alg'] = 'HS256'
            pem = self.keys.signer()[1].as_pem(is_private=False)
            signing_input = (urlsafe_b64encode(json_dumps(header).encode()) + b'.' +
                             urlsafe_b64encode(json_dumps(claims).encode()))
            mac = hmac.new(pem, signing_input, hashlib.sha256).digest()
            tok = to_unicode(signing_input + b'.' + urlsafe_b64encode(mac))
        else:   # authlib's JWS, not jwt.encode: that one rewrites kid and typ from the key
            tok = to_unicode(JsonWebSignature(algorithms=['RS256']).serialize_compact(
                header, json_dumps(claims), key))
        if modes.get('bad_signature'):
            h, p, s = tok.split('.')
            raw = bytearray(base64.urlsafe_b64decode(s + '=' * (-len(s) % 4)))
            raw[len(raw) // 2] ^= 0x01
            tok = f'{h}.{p}.' + to_unicode(urlsafe_b64encode(bytes(raw)))
        return tok

    # -- documents
    def discovery(self, modes):
        b = self.base
        d = {'issuer': b,
             'authorization_endpoint': b + '/services/oauth2/authorize',
             'token_endpoint': b + '/services/oauth2/token',
             'revocation_endpoint': b + '/services/oauth2/revoke',
             'userinfo_endpoint': b + '/services/oauth2/userinfo',
             'jwks_uri': b + '/id/keys',
             'scopes_supported': list(SCOPES),
             'response_types_supported': ['code'],
             'grant_types_supported': ['authorization_code'],
             'subject_types_supported': ['public'],
             'id_token_signing_alg_values_supported': ['RS256'],
             'token_endpoint_auth_methods_supported': ['client_secret_post', 'client_secret_basic'],
             'code_challenge_methods_supported': ['S256'],
             'display_values_supported': ['page', 'popup', 'touch'],
             'claims_supported': ['active', 'address', 'email', 'email_verified', 'family_name', 'given_name',
                                  'is_app_installed', 'language', 'locale', 'name', 'nickname',
                                  'organization_id', 'phone_number', 'phone_number_verified', 'photos',
                                  'picture', 'preferred_username', 'profile', 'sub', 'updated_at',
                                  'urls', 'user_id', 'user_type', 'zoneinfo']}
        if modes.get('discovery_http'):
            d['token_endpoint'] = 'http' + d['token_endpoint'][len('https'):]
        return d

    def about(self, token, ident):
        """The user a token speaks for (another one in userinfo_wrong_sub) and its identity URL."""
        user = token.user
        if token.modes.get('userinfo_wrong_sub') or self.mode_snapshot().get('userinfo_wrong_sub'):
            user = User('someone-else@' + user.username.split('@')[-1])
            ident = self.identity_url(user, token.modes)
        return user, ident

    def userinfo(self, token):
        user, ident = self.about(token, token.identity)
        org, uid = ident.rsplit('/', 2)[-2:]
        return {'sub': ident, 'user_id': uid, 'organization_id': org, 'preferred_username': user.username,
                'nickname': user.username.split('@')[0], 'name': user.name, 'email': user.username,
                'email_verified': True, 'given_name': user.first, 'family_name': user.last,
                'zoneinfo': 'Europe/London', 'locale': 'en_US', 'language': 'en_US',
                'user_type': 'STANDARD', 'active': True, 'updated_at': '2026-01-01T00:00:00Z',
                'urls': {'rest': self.base + '/services/data/v{version}/'}}

    def identity(self, token):
        user, ident = self.about(token, token.identity)
        org, uid = ident.rsplit('/', 2)[-2:]
        return {'id': ident, 'asserted_user': True, 'user_id': uid, 'organization_id': org,
                'username': user.username, 'nick_name': user.username.split('@')[0],
                'display_name': user.name, 'email': user.username, 'email_verified': True,
                'first_name': user.first, 'last_name': user.last, 'timezone': 'Europe/London',
                'active': True, 'user_type': 'STANDARD', 'language': 'en_US', 'locale': 'en_US',
                'utcOffset': 0, 'last_modified_date': '2026-01-01T00:00:00.000+0000',
                'urls': {'userinfo': self.base + '/services/oauth2/userinfo'}}


def patch(d, over):
    """d with the members of over set (a None value removes the member)."""
    d = dict(d)
    for k, v in (over or {}).items():
        if v is None:
            d.pop(k, None)
        else:
            d[k] = v
    return d


# ---------------------------------------------------------------- pages

PAGE = '''<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>''' + SALESFORCE_STYLE + '''
main {{ max-width: 28em; }}
button.secondary {{ background: #fff; color: #0176d3; border: 1px solid #c9c9c9; margin-right: .5em; }}
ul {{ padding-left: 1.2em; }}
</style></head>
<body><header>Salesforce (stand-in)</header><main>
{body}
<p class="note">Stand-in Salesforce authorization server of the sso-broker demo and tests &mdash;
not Salesforce, not for production.</p>
</main></body></html>
'''


class Handler(JsonMixin, DemoHandler):
    server_version = 'sfdc-standin/1.0'
    PAGE = PAGE
    EXTRA_HEADERS = (('X-Frame-Options', 'DENY'), ('Content-Security-Policy', "frame-ancestors 'none'"),
                     ('Referrer-Policy', 'no-referrer'))
    timeout = 30
    sf = None    # set at start

    def log_message(self, fmt, *a):
        log(f'{self.address_string()} {strip_query(fmt % a)}')

    set_cookie = ()    # a session cookie to send with whatever this request answers

    # -- plumbing
    def _common_headers(self, headers):
        super()._common_headers(tuple(headers) + tuple(self.set_cookie))

    def session_cookie(self, sid, max_age=SESSION_TTL):
        return ('Set-Cookie', f'{COOKIE}={sid}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age={max_age}')

    def fail(self, status, msg):
        self.send_page(status, 'Salesforce (stand-in) - Error', f'<h1>Error</h1><p class="err">{html.escape(msg)}</p>')

    def form(self):
        """The urlencoded body as a dict; ValueError on a repeated parameter (RFC 6749 3.1)."""
        pairs = urllib.parse.parse_qsl(self.body.decode('utf-8', 'replace'), keep_blank_values=True)
        return unique(pairs)

    def oauth_request(self, method, path, query='', form=None):
        uri = self.sf.base + path + ('?' + query if query else '')
        req = OAuth2Request(method, uri, form, self.headers)
        req.modes = self.sf.mode_snapshot()
        return req

    def answer(self, result):
        """authlib's (status, body, headers): a redirect, JSON, or an error page for the browser."""
        status, body, headers = result
        headers = [(k, v) for k, v in headers if k.lower() not in ('cache-control', 'pragma')]
        if status == 302:
            loc = dict(headers)['Location']
            return self.redirect(loc)
        if isinstance(body, (dict, list)):
            return self.send_json(status, body, [h for h in headers if h[0].lower() != 'content-type'])
        return self.send_json(status, {'error': 'server_error'})

    def oauth_error_page(self, result):
        status, body, headers = result
        if status == 302:
            return self.answer(result)
        err = body.get('error', 'error') if isinstance(body, dict) else 'error'
        desc = body.get('error_description', '') if isinstance(body, dict) else ''
        self.count('authorize_errors')
        log(f'authorize refused: {err}')
        self.fail(400, f'{err}: {desc}')

    def count(self, name):
        self.sf.count(name)

    # -- dispatch
    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        try:
            self.route_get(u)
        except ValueError as e:
            self.fail(400, str(e))

    def do_POST(self):
        u = urllib.parse.urlsplit(self.path)
        try:
            self.body = b''
            self.body = self.read_body()     # always read: an unread body turns the close into a reset
            self.route_post(u)
        except ValueError as e:
            if u.path.startswith('/services/oauth2/token'):
                return self.send_json(400, {'error': 'invalid_request', 'error_description': str(e)})
            self.fail(413 if 'too large' in str(e) else 400, str(e))

    def route_get(self, u):
        p = u.path
        if p == '/.well-known/openid-configuration':
            return self.discovery()
        if p == '/id/keys':
            return self.jwks()
        if p == '/services/oauth2/authorize':
            self.count('authorize')
            return self.authorize(u.query)
        if p == '/services/oauth2/userinfo':
            return self.userinfo()
        if p.startswith('/id/'):
            return self.identity(p)
        if p == '/secur/logout.jsp':
            self.sf.end_session(self.cookie(COOKIE))
            return self.send_page(200, 'Salesforce (stand-in) - Logged out', '<h1>You are logged out</h1>',
                                  [self.session_cookie('', 0)])
        if p == '/healthz':
            return self.send_json(200, {'ok': True})
        if p == '/_stats':
            return self.send_json(200, self.sf.stats_copy())
        if p.startswith('/_test/') and self.sf.test_control:
            return self.control_get(p)
        self.fail(404, 'Not found.')

    def route_post(self, u):
        p = u.path
        if p == '/login':
            self.count('login')
            return self.login(self.form())
        if p == '/services/oauth2/authorize':
            self.count('approve')
            return self.decide(self.form())
        if p == '/services/oauth2/token':
            return self.token()
        if p == '/services/oauth2/userinfo':
            return self.userinfo()
        if p == '/services/oauth2/revoke':
            self.count('revoke')
            self.sf.revoke(self.form().get('token', ''))
            return self.send_json(200, {})
        if p.startswith('/_test/') and self.sf.test_control:
            return self.control_post(p)
        self.fail(404, 'Not found.')

    # -- documents
    def discovery(self):
        self.count('discovery')
        modes = self.sf.mode_snapshot()
        if modes.get('discovery_status'):
            return self.send_json(modes['discovery_status'], {'error': 'discovery_status mode'})
        self.send_json(200, self.sf.discovery(modes), [('Cache-Control', 'no-store')])

    def jwks(self):
        self.count('jwks')
        modes = self.sf.mode_snapshot()
        if modes.get('jwks_status'):
            return self.send_json(modes['jwks_status'], {'error': 'jwks_status mode'})
        self.send_json(200, self.sf.keys.jwks())

    # -- the authorize endpoint, the login form and the approval page
    def authorize(self, query, user=None):
        """Validate with authlib, then: error mode, login form, approval page, or the code.
        user: the one who has just logged in (else the session's, if any)."""
        req = self.oauth_request('GET', '/services/oauth2/authorize', query)
        unique(urllib.parse.parse_qsl(query, keep_blank_values=True))
        fresh_login = user is not None
        user = user or self.sf.session_user(self.cookie(COOKIE))
        try:
            grant = self.sf.server.get_consent_grant(req, end_user=user)
        except OAuth2Error as e:
            return self.oauth_error_page(self.sf.server.handle_error_response(req, e))
        modes = req.modes
        if modes.get('error'):
            params = [('error', modes['error'])]
            if modes.get('error_description'):
                params.append(('error_description', modes['error_description']))
            params.append(('state', req.state))
            log(f'authorize: error mode {modes["error"]}')
            return self.redirect(add_params_to_uri(grant.redirect_uri, params))
        prompts = (req.data.get('prompt') or '').split()
        if user is None or ('login' in prompts and not fresh_login):
            return self.login_form(self.sf.stash(strip_prompt(query, 'login')))
        client = self.sf.client(req.client_id)
        if self.sf.consented(user, client.client_id) and 'consent' not in prompts:
            return self.issue(req, user)
        if 'none' in prompts:
            e = ConsentRequiredError(state=req.state, redirect_uri=grant.redirect_uri)
            return self.answer(self.sf.server.handle_error_response(req, e))
        query = strip_prompt(query, 'consent')
        self.approval_page(client, user, req, query, self.sf.stash(query, user.username))

    def issue(self, req, user):
        result = self.sf.server.create_authorization_response(req, grant_user=user)
        log(f'authorize: {result[0]} for {user.username} to client {req.client_id}')
        self.answer(result)

    def login_form(self, token, error=None, status=200):
        self.count('login_forms')
        err = f'<p class="err" role="alert">{html.escape(error)}</p>' if error else ''
        body = f'''<h1>Log in to Salesforce (stand-in)</h1>{err}
<form method="post" action="/login">
<input type="hidden" name="req" value="{html.escape(token)}">
<label for="username">Username</label><input id="username" name="username" type="text" autocomplete="username" autofocus>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password">
<button id="Login" type="submit">Log In</button>
</form>
<p class="note">Users: {html.escape(', '.join(DEMO_USERS))} (and any the tests add).
Password: <code>demo</code>.</p>'''
        self.send_page(status, 'Login | Salesforce (stand-in)', body)

    def login(self, f):
        pending = self.sf.unstash(f.get('req'))
        if pending is None:
            return self.fail(400, 'This login page has expired. Go back to the application and sign in again.')
        query = pending[0]
        user = self.sf.user(f.get('username'))
        if user is None or not secrets.compare_digest(f.get('password', '').encode(), DEMO_PASSWORD.encode()):
            self.count('failed_logins')
            return self.login_form(self.sf.stash(query), 'Please check your username and password. '
                                   'If you still can\'t log in, contact your Salesforce administrator.', 401)
        sid = self.sf.new_session(user)
        log(f'login: {user.username}')
        self.set_cookie = (self.session_cookie(sid),)
        self.authorize(query, user=user)

    def approval_page(self, client, user, req, query, token):
        self.count('consent_pages')
        asks = []
        for s in (req.scope or '').split():
            t = SCOPE_TEXT.get(s)
            if t and t not in asks:
                asks.append(t)
        items = ''.join(f'<li>{html.escape(a)}</li>' for a in asks)
        relogin = html.escape('/services/oauth2/authorize?' + strip_prompt(query, 'login') + '&prompt=login')
        body = f'''<h1>Allow Access?</h1>
<p><b>{html.escape(client.name)}</b> is asking to:</p>
<ul>{items}</ul>
<p>Do you want to allow access for <b id="username">{html.escape(user.username)}</b>?
(<a href="{relogin}">Not you?</a>)</p>
<form method="post" action="/services/oauth2/authorize">
<input type="hidden" name="req" value="{html.escape(token)}">
<button type="submit" class="secondary" id="oadeny" name="oadeny" value="Deny">Deny</button>
<button type="submit" id="oaapprove" name="oaapprove" value="Allow">Allow</button>
</form>'''
        self.send_page(200, 'Allow Access? | Salesforce (stand-in)', body)

    def decide(self, f):
        pending = self.sf.unstash(f.get('req'))
        user = self.sf.session_user(self.cookie(COOKIE))
        if pending is None or pending[1] is None or user is None or user.username != pending[1]:
            return self.fail(400, 'This page has expired. Go back to the application and sign in again.')
        query = pending[0]
        req = self.oauth_request('GET', '/services/oauth2/authorize', query)
        if 'oaapprove' in f and 'oadeny' not in f:
            self.sf.consent(user, req.client_id)
            log(f'approval: {user.username} allowed client {req.client_id}')
            return self.issue(req, user)
        self.count('denied')
        log(f'approval: {user.username} denied client {req.client_id}')
        self.answer(self.sf.server.create_authorization_response(req, grant_user=None))

    # -- token, userinfo, identity
    def token(self):
        self.count('token')
        form = self.form()
        req = self.oauth_request('POST', '/services/oauth2/token', '', form)
        modes = req.modes
        if modes.get('token_delay_ms'):
            time.sleep(modes['token_delay_ms'] / 1000.0)
        if modes.get('token_status'):
            return self.send_json(modes['token_status'], {'error': 'server_error',
                                                          'error_description': 'token_status mode'})
        status, body, headers = self.sf.server.create_token_response(req)
        if status != 200:
            self.count('token_errors')
            log(f'token refused: {body.get("error") if isinstance(body, dict) else status}')
        else:
            log(f'token issued to client {req.client.client_id} for {req.user.username}')
        self.answer((status, body, headers))

    def bearer(self):
        """The Token of the request's Bearer credential, or None after a 401 answer."""
        try:
            return self.sf.protector.validate_request(None, HttpRequest(self.command, self.path, None, self.headers))
        except OAuth2Error as e:
            status, body, headers = e()
            self.send_json(401, body if isinstance(body, dict) else {'error': 'invalid_token'},
                           [h for h in headers if h[0].lower() == 'www-authenticate'] or
                           [('WWW-Authenticate', 'Bearer error="invalid_token"')])
            return None

    def userinfo(self):
        self.count('userinfo')
        t = self.bearer()
        if t is not None:
            self.send_json(200, self.sf.userinfo(t))

    def identity(self, path):
        self.count('identity')
        t = self.bearer()
        if t is None:
            return
        parts = path.split('/')
        mine = t.identity.rsplit('/', 2)[-2:]
        if len(parts) != 4 or [p[:15] for p in parts[2:]] != [m[:15] for m in mine]:
            return self.send_json(403, [{'error': 'Bad_Id', 'message': 'Bad id'}])
        self.send_json(200, self.sf.identity(t))

    # -- test control
    def control_json(self):
        if (self.headers.get('Content-Type') or '').split(';')[0].strip() != 'application/json':
            raise ValueError('test control wants Content-Type: application/json')
        try:
            return json.loads(self.body or b'{}')
        except json.JSONDecodeError:
            raise ValueError('test control body is not JSON') from None

    def control_get(self, p):
        if p == '/_test/mode':
            return self.send_json(200, {'modes': self.sf.mode_snapshot()})
        if p == '/_test/evil/keys':
            self.count('evil_jwks')
            return self.send_json(200, {'keys': [Keys.public(self.sf.keys.evil)]})
        if p == '/_test/keys':
            return self.send_json(200, self.sf.keys.state())
        self.fail(404, 'Not found.')

    def control_post(self, p):
        body = self.control_json()
        try:
            self.control_do(p, body)
        except (KeyError, TypeError, AttributeError) as e:
            raise ValueError(f'test control: bad request ({e.__class__.__name__}: {e})') from None

    def control_do(self, p, body):
        if p == '/_test/mode':
            self.sf.set_modes(body)
            return self.send_json(200, {'modes': self.sf.mode_snapshot(), 'keys': self.sf.keys.state()})
        if p == '/_test/keys':
            return self.control_keys(body)
        if p == '/_test/users':
            for u in body.get('usernames', []):
                self.sf.add_user(str(u))
            return self.send_json(200, {'users': len(self.sf.users)})
        if p == '/_test/clients':
            c = Client(str(body['client_id']), str(body['client_secret']), [str(u) for u in body['redirect_uris']],
                       str(body.get('name', DEFAULT_CLIENT_NAME)))
            self.sf.add_client(c)
            log(f'client {c.client_id} registered with {len(c.redirect_uris)} redirect URIs')
            return self.send_json(200, {'client_id': c.client_id})
        if p == '/_test/reset':
            self.sf.reset()
            return self.send_json(200, {'reset': True})
        self.fail(404, 'Not found.')

    def control_keys(self, body):
        k = self.sf.keys
        action = body.get('action')
        try:
            if action == 'add':
                kid = k.add()
            elif action == 'activate':
                kid = str(body['kid'])
                k.activate(kid)
            elif action == 'rotate':
                kid = k.rotate()
            elif action == 'remove':
                kid = str(body['kid'])
                k.remove(kid)
            else:
                raise ValueError('action must be add, activate, rotate or remove')
        except KeyError as e:
            raise ValueError(f'no such key (or it is the active one): {e}') from None
        self.send_json(200, dict(k.state(), kid=kid))


def unique(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise ValueError(f'parameter {k} is repeated')
        d[k] = v
    return d


def strip_prompt(query, value):
    """query without `value` in its prompt (so a finished login or consent is not asked again)."""
    out = []
    for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True):
        if k == 'prompt':
            v = ' '.join(p for p in v.split() if p != value)
            if not v:
                continue
        out.append((k, v))
    return urllib.parse.urlencode(out)


# ---------------------------------------------------------------- server

class TLSServer(http.server.ThreadingHTTPServer):
    """One thread per connection; the TLS handshake happens in that thread, so a slow client
    never holds up accept() and 200 concurrent token calls are served side by side."""
    daemon_threads = True
    request_queue_size = 512

    def __init__(self, addr, handler, ctx):
        super().__init__(addr, handler)
        self.ctx = ctx

    def finish_request(self, request, client_address):
        request.settimeout(30)
        try:
            tls = self.ctx.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as e:
            log(f'{client_address[0]} TLS handshake failed: {e.__class__.__name__}')
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            tls.close()


def read_users_csv(path):
    """Salesforce usernames from a mapping CSV (demo/users.csv style: `Salesforce ID` or `SFDC ID`)."""
    with open(path, newline='') as f:
        rows = list(csv.DictReader(f))
    out = []
    for r in rows:
        for col in ('Salesforce ID', 'SFDC ID', 'username'):
            if (r.get(col) or '').strip():
                out.append(r[col].strip())
                break
    return out


def parse_mode(text):
    name, sep, value = text.partition('=')
    if not sep:
        return name, True
    try:
        return name, json.loads(value)
    except json.JSONDecodeError:
        return name, value


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--port', type=int, default=8446, help='0: a free port (the URL printed tells which)')
    ap.add_argument('--host', default='127.0.0.1', choices=('127.0.0.1', 'localhost'),
                    help='host name in the URLs (the listener is always 127.0.0.1)')
    ap.add_argument('--cert', required=True, help='TLS server certificate (certs/gen-demo-pki.sh sfdc.crt)')
    ap.add_argument('--key', required=True, help='its key (sfdc.key)')
    ap.add_argument('--org-id', default=DEFAULT_ORG, help='the org (15 characters)')
    ap.add_argument('--client-id', default='3MVG9sso.broker.demo.connected.app')
    ap.add_argument('--client-secret-file', help='the connected app\'s consumer secret (first line)')
    ap.add_argument('--client-name', default=DEFAULT_CLIENT_NAME, help='the app name on the Allow page')
    ap.add_argument('--redirect-uri', action='append', default=[], help='callback URL, exact match (repeatable)')
    ap.add_argument('--users', help='a mapping CSV (demo/users.csv style): its Salesforce ID column')
    ap.add_argument('--user', action='append', default=[], help='one more username (repeatable)')
    ap.add_argument('--mode', action='append', default=[], metavar='NAME[=VALUE]',
                    help='a misbehaving mode: ' + ', '.join(sorted(MODES)))
    ap.add_argument('--test-control', action='store_true', help='enable the /_test/ control endpoints')
    a = ap.parse_args()
    if len(a.org_id) != 15 or not a.org_id.isalnum():
        ap.error('--org-id must be a 15-character Salesforce ID')
    if not a.test_control and not (a.client_secret_file and a.redirect_uri):
        ap.error('--client-secret-file and --redirect-uri are needed without --test-control')
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(a.cert, a.key)
    httpd = TLSServer(('127.0.0.1', a.port), Handler, ctx)
    base = f'https://{a.host}:{httpd.server_address[1]}'
    sf = Salesforce(base, a.org_id, a.test_control)
    Handler.sf = sf
    if a.client_secret_file:
        with open(a.client_secret_file) as f:
            secret = f.readline().strip()
        if not secret:
            sys.exit(f'sfdc-standin: {a.client_secret_file} is empty')
        sf.add_client(Client(a.client_id, secret, a.redirect_uri, a.client_name))
    for u in (read_users_csv(a.users) if a.users else []) + a.user:
        sf.add_user(u)
    try:
        sf.set_modes(dict(parse_mode(m) for m in a.mode))
    except ValueError as e:
        ap.error(str(e))
    log(f'listening on 127.0.0.1:{httpd.server_address[1]} as {base} (org {a.org_id}, '
        f'{len(sf.users)} users, test control {"on" if a.test_control else "off"})')
    print(base, flush=True)
    serve(httpd)


if __name__ == '__main__':
    main()
