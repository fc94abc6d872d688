"""Shared HTTP plumbing for the demo IdP and the demo panel (standard library only)."""
import html
import json
import http.cookies
import http.server
import sys
import time


def make_log(tag):
    """A log function writing '<time> <tag>: <msg>' lines to stderr."""
    def log(msg):
        sys.stderr.write(time.strftime('%Y-%m-%dT%H:%M:%S ') + tag + ': ' + msg + '\n')
        sys.stderr.flush()
    return log


class DemoHandler(http.server.BaseHTTPRequestHandler):
    """Pages, redirects and cookies; subclasses set PAGE and EXTRA_HEADERS."""
    PAGE = '<!doctype html><title>{title}</title>{body}'
    EXTRA_HEADERS = ()    # (name, value) pairs sent with every answer

    def cookie(self, name):
        c = http.cookies.SimpleCookie()
        try:
            c.load(self.headers.get('Cookie', ''))
        except http.cookies.CookieError:
            return None
        return c[name].value if name in c else None

    def _common_headers(self, headers):
        self.send_header('Cache-Control', 'no-store')
        for k, v in tuple(self.EXTRA_HEADERS) + tuple(headers):
            self.send_header(k, v)

    def send_page(self, status, title, body, headers=()):
        data = self.PAGE.format(title=html.escape(title), body=body).encode()
        self.send_response(status)
        self.send_header('Content-Type', 'text/html; charset=utf-8')
        self.send_header('Content-Length', str(len(data)))
        self._common_headers(headers)
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(data)

    def redirect(self, url, headers=()):
        self.send_response(302)
        self.send_header('Location', url)
        self.send_header('Content-Length', '0')
        self._common_headers(headers)
        self.end_headers()


def strip_query(line):
    """A request line for the log without its query string (codes, states, tokens)."""
    out = []
    for word in line.split(' '):
        out.append(word.split('?', 1)[0])
    return ' '.join(out)


class JsonMixin:
    """JSON answers and bounded bodies for DemoHandler subclasses (the stand-in Salesforce)."""
    BODY_MAX = 64 * 1024

    def send_json(self, status, obj, headers=()):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header('Content-Type', 'application/json;charset=UTF-8')
        self.send_header('Content-Length', str(len(data)))
        self._common_headers(tuple(headers) + (('Pragma', 'no-cache'),))
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(data)

    def read_body(self):
        """The request body as bytes; ValueError when it is over BODY_MAX or malformed."""
        try:
            n = int(self.headers.get('Content-Length') or 0)
        except ValueError:
            raise ValueError('bad Content-Length') from None
        if n < 0 or n > self.BODY_MAX:
            raise ValueError('body too large')
        return self.rfile.read(n)


# The Salesforce look of the demo's "Salesforce" pages (idp.py has its own copy of these rules;
# it can take this one).  Braces are doubled: the page template goes through str.format.
SALESFORCE_STYLE = '''
body {{ font-family: system-ui, sans-serif; background: #f3f2f2; margin: 0; }}
header {{ background: #0176d3; color: #fff; padding: .8em 1.5em; font-weight: 600; }}
main {{ max-width: 26em; margin: 3em auto; background: #fff; padding: 2em; border-radius: .4em;
       box-shadow: 0 1px 4px rgba(0,0,0,.15); }}
label {{ display: block; margin-top: 1em; font-size: .9em; }}
input[type=text], input[type=password] {{ width: 100%; box-sizing: border-box; padding: .5em; }}
button, .button {{ margin-top: 1.5em; background: #0176d3; color: #fff; border: 0; padding: .6em 1.4em;
       border-radius: .3em; font-size: 1em; text-decoration: none; display: inline-block; cursor: pointer; }}
.note {{ color: #555; font-size: .85em; margin-top: 1.5em; }}
.err {{ color: #ba0517; }}
'''


def serve(httpd):
    """Serve until SIGINT (or SIGTERM, turned into the same), then close the listener."""
    import signal
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()
