"""Shared HTTP plumbing for the demo IdP and the demo panel (standard library only)."""
import html
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
