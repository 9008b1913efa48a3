"""Drives a running Horizon like a browser would (no JavaScript): logs in through the
real login form, fetches panels and checks each for Horizon's error rendering, submits
Horizon's forms (key pair, network, security group, floating IP), and launches an
instance through the REST API that Horizon's launch wizard calls.

Run by scripts/clients/horizon.sh (see there); prints PASS/FAIL lines and writes
"PASSED FAILED" to --counts. Polls and deletes with the `openstack` CLI on PATH
(OS_CLOUD/OS_CLIENT_CONFIG_FILE: admin).
"""
import argparse
import html
import json
import os
import re
import subprocess
import sys
import time
from html.parser import HTMLParser

import requests

PAGE_TIMEOUT = 60
PASSED = FAILED = 0

PROJECT_PAGES = [
    ('project overview', '/project/'),
    ('project instances', '/project/instances/'),
    ('project images', '/project/images/'),
    ('project key pairs', '/project/key_pairs/'),
    ('project network topology', '/project/network_topology/'),
    ('project network topology data', '/project/network_topology/json'),
    ('project networks', '/project/networks/'),
    ('project routers', '/project/routers/'),
    ('project security groups', '/project/security_groups/'),
    ('project floating IPs', '/project/floating_ips/'),
    ('project API access', '/project/api_access/'),
]
ADMIN_PAGES = [
    ('admin overview', '/admin/'),
    ('admin hypervisors', '/admin/hypervisors/'),
    ('admin aggregates', '/admin/aggregates/'),
    ('admin instances', '/admin/instances/'),
    ('admin flavors', '/admin/flavors/'),
    ('admin images', '/admin/images/'),
    ('admin networks', '/admin/networks/'),
    ('admin routers', '/admin/routers/'),
    ('admin system information', '/admin/info/'),
    ('admin defaults', '/admin/defaults/'),
    ('identity projects', '/identity/'),
    ('identity users', '/identity/users/'),
    ('identity groups', '/identity/groups/'),
    ('identity roles', '/identity/roles/'),
]

# Markup Horizon renders for django messages of level error/warning
# (horizon/templates/horizon/_messages.html) and for failed pages (500.html).
ALERT_RE = re.compile(r'<div class="alert alert-(danger|warning)[^"]*">(.*?)</div>', re.S)
PLAIN_ERRORS = ['Unable to', 'Error: ', 'Something went wrong', 'An unexpected error']


def report(ok, name, reason='', detail=''):
    global PASSED, FAILED
    if ok:
        PASSED += 1
        print(f'PASS {name}', flush=True)
    else:
        FAILED += 1
        print(f'FAIL {name}: {reason}', flush=True)
        for line in detail.strip().splitlines()[:12]:
            print(f'    | {line[:300]}', flush=True)
    return ok


def visible(page):
    """The page without scripts (Horizon inlines its AngularJS templates there),
    noscript warnings and comments: what the server rendered as HTML."""
    page = re.sub(r'(?is)<(script|noscript|style)\b.*?</\1>', '', page)
    return re.sub(r'(?s)<!--.*?-->', '', page)


def text(fragment):
    t = re.sub(r'<[^>]+>', ' ', fragment)
    return re.sub(r'\s+', ' ', html.unescape(t)).strip()


def page_errors(page):
    """Horizon's error messages on a rendered page (empty if none)."""
    body = visible(page)
    found = [f'{kind}: {text(m)}' for kind, m in ALERT_RE.findall(body)]
    if not found:
        plain = text(body)
        for needle in PLAIN_ERRORS:
            i = plain.find(needle)
            if i >= 0:
                found.append(plain[max(0, i - 80):i + 200])
    return found


class FormParser(HTMLParser):
    """Collects the fields of the form whose action contains ACTION as a browser would
    submit them untouched: checked boxes only, a select's selected option (a single
    select's first one if none is), textareas are left to the caller."""

    def __init__(self, action):
        super().__init__()
        self.action, self.inside, self.fields, self.select = action, False, {}, None
        self.multiple = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == 'form' and self.action in (a.get('action') or ''):
            self.inside = True
        elif self.inside and tag == 'input' and a.get('name'):
            kind = (a.get('type') or 'text').lower()
            if kind in ('checkbox', 'radio'):
                if 'checked' in a:
                    self.fields[a['name']] = a.get('value') or 'on'
            elif kind not in ('submit', 'button', 'file'):
                self.fields.setdefault(a['name'], a.get('value') or '')
        elif self.inside and tag == 'select' and a.get('name'):
            self.select, self.multiple, self.first = a['name'], 'multiple' in a, True
            self.fields[a['name']] = [] if self.multiple else None
        elif self.inside and tag == 'option' and self.select:
            value = a.get('value') or ''
            if self.multiple:
                if 'selected' in a:
                    self.fields[self.select].append(value)
            elif 'selected' in a or self.first:
                self.fields[self.select] = value
            self.first = False

    def handle_endtag(self, tag):
        if tag == 'form':
            self.inside = False
        elif tag == 'select':
            self.select = None


class Browser:
    def __init__(self, base, who):
        self.base, self.who = base.rstrip('/'), who
        self.s = requests.Session()
        self.s.headers['User-Agent'] = 'stratus-horizon-check'

    def get(self, path, **kw):
        return self.s.get(self.base + path, timeout=PAGE_TIMEOUT, **kw)

    def login(self, user, password, domain='Default'):
        name = f'{self.who}: log in as {user}'
        try:
            r = self.get('/auth/login/')
            form = FormParser('/auth/login/')
            form.feed(r.text)
            fields = form.fields
            if 'csrfmiddlewaretoken' not in fields or 'username' not in fields:
                return report(False, name, f'no login form at {r.url} (HTTP {r.status_code})')
            fields.update(username=user, password=password)
            if 'domain' in fields:
                fields['domain'] = domain
            # Not following the redirect: it goes to the overview, which is checked later.
            r = self.s.post(self.base + '/auth/login/', data=fields, timeout=PAGE_TIMEOUT,
                            headers={'Referer': self.base + '/auth/login/'}, allow_redirects=False)
        except requests.RequestException as e:
            return report(False, name, f'request failed: {e}')
        where = r.headers.get('Location', '')
        if r.status_code != 302 or '/auth/' in where:
            return report(False, name, f'HTTP {r.status_code}, Location {where!r}',
                          '\n'.join(page_errors(r.text)))
        size = len(self.s.cookies.get('sessionid') or '')
        if size > 4093:
            print(f'    note: the session cookie is {size} bytes; browsers drop cookies over 4 KiB')
        return report(True, name)

    def check_page(self, name, path, must=(), ajax=False):
        """AJAX: as Horizon's JavaScript loads a lazy tab; then its messages come in
        the X-Horizon-Messages header (JSON [[tags, message, extra], ...])."""
        name = f'{self.who}: {name}'
        start = time.monotonic()
        try:
            r = self.get(path, headers={'X-Requested-With': 'XMLHttpRequest'} if ajax else {})
        except requests.Timeout:
            return report(False, name, f'GET {path}: no answer in {PAGE_TIMEOUT} s')
        except requests.RequestException as e:
            return report(False, name, f'GET {path}: {e}')
        took = time.monotonic() - start
        if '/auth/login' in r.url:
            return report(False, name, f'GET {path} redirected to the login page ({r.url})')
        if r.status_code != 200:
            return report(False, name, f'GET {path}: HTTP {r.status_code}', text(visible(r.text))[:600])
        if took > PAGE_TIMEOUT:
            return report(False, name, f'GET {path} took {took:.0f} s')
        errors = page_errors(r.text) if 'html' in r.headers.get('Content-Type', '') else []
        queued = json.loads(r.headers.get('X-Horizon-Messages') or '[]')
        errors += [f'{m[0]}: {m[1]} {m[2] if len(m) > 2 else ""}' for m in queued
                   if 'error' in m[0] or 'warning' in m[0]]
        if errors:
            return report(False, name, f'GET {path}: error message on the page', '\n'.join(errors))
        missing = [m for m in must if m not in r.text]
        if missing:
            return report(False, name, f'GET {path}: page lacks {missing}')
        return report(True, name)

    def submit(self, name, path, values, query=''):
        """Fills the form at PATH (GET PATH+QUERY) as a user would and posts it; passes
        if Horizon redirects (its success path) and the next page shows no error. Returns
        the URL redirected to (or None)."""
        name = f'{self.who}: {name}'
        try:
            r = self.get(path + query)
            form = FormParser(path)
            form.feed(r.text)
            if 'csrfmiddlewaretoken' not in form.fields:
                return report(False, name, f'GET {path}{query}: HTTP {r.status_code}, no form',
                              '\n'.join(page_errors(r.text)))
            fields = dict(form.fields, **values)
            fields = {k: v for k, v in fields.items() if v is not None}
            r = self.s.post(self.base + path + query, data=fields, timeout=PAGE_TIMEOUT,
                            allow_redirects=False, headers={'Referer': self.base + path + query})
            if r.status_code != 302:
                field_errors = re.findall(r'(?s)class="[^"]*has-error.*?<span class="help-block[^"]*">(.*?)</span>',
                                          visible(r.text))
                return report(False, name, f'POST {path}: HTTP {r.status_code} (form not accepted)',
                              '\n'.join(page_errors(r.text) + [text(e) for e in field_errors]))
            where = r.headers['Location']
            r = self.s.get(self.base + where if where.startswith('/') else where, timeout=PAGE_TIMEOUT)
        except requests.RequestException as e:
            return report(False, name, f'{path}: {e}')
        errors = page_errors(r.text)
        if report(not errors, name, f'error message after POST {path}', '\n'.join(errors)):
            return where
        return None

    def api(self, method, path, body=None):
        """A request as Horizon's AngularJS code makes it (AJAX, CSRF header, JSON)."""
        headers = {'X-Requested-With': 'XMLHttpRequest', 'Accept': 'application/json',
                   'X-CSRFToken': self.s.cookies.get('csrftoken', ''),
                   'Referer': self.base + '/project/instances/'}
        if body is not None:
            headers['Content-Type'] = 'application/json'
        return self.s.request(method, self.base + path, headers=headers, timeout=PAGE_TIMEOUT,
                              data=None if body is None else json.dumps(body))

    def check_api(self, name, path):
        name = f'{self.who}: {name}'
        try:
            r = self.api('GET', path)
        except requests.RequestException as e:
            report(False, name, f'GET {path}: {e}')
            return None
        if r.status_code != 200:
            report(False, name, f'GET {path}: HTTP {r.status_code}', r.text[:600])
            return None
        report(True, name)
        return r.json()


def cli(*args):
    out = subprocess.run(['openstack', *args], capture_output=True, text=True, timeout=120)
    return out.returncode, (out.stdout + out.stderr).strip()


def launch(b, args):
    """The launch wizard (Horizon 27 has no other): load what it loads, then create."""
    w = 'launch wizard'
    b.check_page(f'{w} host page (project instances)', '/project/instances/')
    for what, path in [('settings', '/api/settings/'),
                       ('availability zones', '/api/nova/availzones/'),
                       ('key pairs', '/api/nova/keypairs/'),
                       ('limits', '/api/nova/limits/?reserved=true'),
                       ('server groups', '/api/nova/servergroups/'),
                       ('community images', '/api/glance/images/?status=active&sort_key=name'
                                            '&sort_dir=asc&visibility=community')]:
        b.check_api(f'{w}: {what}', path)
    flavors = b.check_api(f'{w}: flavors', '/api/nova/flavors/?is_public=true&get_extras=false')
    images = b.check_api(f'{w}: images', '/api/glance/images/?status=active&sort_key=name&sort_dir=asc')
    groups = b.check_api(f'{w}: security groups', '/api/network/securitygroups/')
    nets = b.check_api(f'{w}: networks', '/api/neutron/networks/')
    if nets:
        for n in nets.get('items', []):
            b.check_api(f'{w}: ports of network {n.get("name")}', f'/api/neutron/ports/?network_id={n["id"]}')
    flavor = next((f for f in (flavors or {}).get('items', []) if f.get('name') == args.flavor), None)
    image = next((i for i in (images or {}).get('items', []) if i.get('id') == args.image_id), None)
    net = next((n for n in (nets or {}).get('items', []) if n.get('id') == args.network_id), None)
    default_sg = [g['id'] for g in (groups or {}).get('items', []) if g.get('name') == 'default']
    report(flavor is not None, f'{b.who}: {w} offers flavor {args.flavor}', 'not in /api/nova/flavors/')
    report(image is not None, f'{b.who}: {w} offers the test image', 'not in /api/glance/images/')
    report(net is not None and net.get('subnets'), f'{b.who}: {w} offers the project network with a subnet',
           'not in /api/neutron/networks/ (or no subnets)', json.dumps(net))
    report(bool(default_sg), f'{b.who}: {w} finds security group default', 'not in /api/network/securitygroups/')
    if not (flavor and image and net):
        return report(False, f'{b.who}: launch instance', 'the wizard lacks a flavor, image or network')
    # What launch-instance-model.service.js createInstance() posts for an image boot.
    spec = {'name': args.server_name, 'source_id': image['id'], 'flavor_id': flavor['id'],
            'key_name': None, 'user_data': '', 'security_groups': default_sg,
            'availability_zone': '', 'config_drive': False, 'disk_config': 'AUTO',
            'instance_count': 1, 'scheduler_hints': {}, 'create_volume_default': False,
            'hide_create_volume': True, 'nics': [{'net-id': net['id'], 'v4-fixed-ip': ''}]}
    r = b.api('POST', '/api/nova/servers/', spec)
    if not report(r.status_code == 201, f'{b.who}: launch instance (POST /api/nova/servers/)',
                  f'HTTP {r.status_code}', r.text[:600]):
        return
    sid = r.json().get('id')
    print(f'    server {sid}', flush=True)
    status, deadline = '', time.monotonic() + 120
    while time.monotonic() < deadline:
        rc, status = cli('server', 'show', sid, '-f', 'value', '-c', 'status')
        if status in ('ACTIVE', 'ERROR'):
            break
        time.sleep(2)
    report(status == 'ACTIVE', f'{b.who}: launched instance becomes ACTIVE', f'status {status!r}')
    b.check_page('instances list shows the instance', '/project/instances/', must=[args.server_name])
    b.check_page('instance detail page', f'/project/instances/{sid}/', must=[sid])
    for tab in ('interfaces', 'log', 'console', 'audit'):
        b.check_page(f'instance detail page, {tab} tab (AJAX)',
                     f'/project/instances/{sid}/?tab=instance_details__{tab}', ajax=True)
    if args.admin:
        args.admin.check_page('instance detail page (admin)', f'/admin/instances/{sid}/detail',
                              must=[sid])
    floating_ip(b, args, sid)
    # Delete it the way the instances table's Delete action does (a form POST).
    r = b.s.post(b.base + '/project/instances/', timeout=PAGE_TIMEOUT,
                 data={'csrfmiddlewaretoken': b.s.cookies.get('csrftoken', ''),
                       'action': f'instances__delete__{sid}'},
                 headers={'Referer': b.base + '/project/instances/'})
    errors = page_errors(r.text)
    report(r.status_code == 200 and not errors, f'{b.who}: delete instance (instances table action)',
           f'HTTP {r.status_code} at {r.url}', '\n'.join(errors))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        rc, out = cli('server', 'show', sid, '-f', 'value', '-c', 'status')
        if rc != 0:
            break
        time.sleep(2)
    if not report(rc != 0, f'{b.who}: the instance is gone', f'still there: {out}'):
        cli('server', 'delete', sid)


def floating_ip(b, args, sid):
    """Allocate a floating IP and associate it with the instance through Horizon's forms."""
    if not b.submit('allocate floating IP (form)', '/project/floating_ips/allocate/', {}):
        return
    ips = b.check_api('floating IPs (REST)', '/api/network/floatingips/') or {}
    free = [i for i in ips.get('items', []) if not i.get('port_id')]
    if not report(bool(free), f'{b.who}: the allocated floating IP is listed', 'none without a port',
                  json.dumps(ips)[:600]):
        return
    fip = free[0]
    if not b.submit('associate floating IP with the instance (form)', '/project/floating_ips/associate/',
                    {'ip_id': fip['id']}, query=f'?instance_id={sid}'):
        return
    b.check_page('floating IPs page shows the association', '/project/floating_ips/',
                 must=[fip['ip'], args.server_name])
    b.check_page('instances list shows the floating IP', '/project/instances/', must=[fip['ip']])
    rc, out = cli('server', 'show', sid, '-f', 'value', '-c', 'addresses')
    report(fip['ip'] in out, f'{b.who}: the server\'s addresses (API) show the floating IP', out)


def network_and_security_group(b):
    """Create a network with a subnet (Create Network workflow) and a security group
    with an SSH rule (its forms); horizon.sh deletes them with the project."""
    stamp = int(time.time())
    if b.submit('create network with subnet (workflow)', '/project/networks/create',
                {'net_name': f'horizon-made-net-{stamp}', 'with_subnet': 'on',
                 'subnet_name': f'horizon-made-subnet-{stamp}', 'cidr': '10.97.0.0/24',
                 'ip_version': '4', 'no_gateway': None}):
        b.check_page('networks page lists the new network', '/project/networks/',
                     must=[f'horizon-made-net-{stamp}'])
    where = b.submit('create security group (form)', '/project/security_groups/create/',
                     {'name': f'horizon-sg-{stamp}', 'description': 'made by horizon_check.py'})
    m = re.search(r'/project/security_groups/([^/]+)/', where or '')
    if not report(bool(m), f'{b.who}: create security group leads to its page', f'redirected to {where!r}'):
        return
    b.submit('add SSH rule to the security group (form)', f'/project/security_groups/{m[1]}/add_rule/',
             {'rule_menu': 'tcp', 'direction': 'ingress', 'port_or_range': 'port', 'port': '22',
              'remote': 'cidr', 'cidr': '0.0.0.0/0'})
    b.check_page('security group page shows the rule', f'/project/security_groups/{m[1]}/', must=['22'])


def keypair(b):
    """Import a public key through the key pairs form, see it listed, delete it."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519
    key = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    name = f'horizon-key-{int(time.time())}'
    if b.submit('import key pair (form)', '/project/key_pairs/import/',
                {'name': name, 'public_key': key, 'key_type': 'ssh'}):
        b.check_page('key pairs page lists the imported key', '/project/key_pairs/', must=[name])
    r = b.s.post(b.base + '/project/key_pairs/', timeout=PAGE_TIMEOUT,
                 data={'csrfmiddlewaretoken': b.s.cookies.get('csrftoken', ''),
                       'action': f'keypairs__delete__{name}'},
                 headers={'Referer': b.base + '/project/key_pairs/'})
    errors = page_errors(r.text)
    report(r.status_code == 200 and not errors and f'keypairs__row__{name}' not in r.text,
           f'{b.who}: delete key pair (key pairs table action)', f'HTTP {r.status_code} at {r.url}',
           '\n'.join(errors))


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--url', required=True)
    p.add_argument('--member', required=True)
    p.add_argument('--project', required=True)
    p.add_argument('--image-id', required=True)
    p.add_argument('--image-name', required=True)
    p.add_argument('--network-id', required=True)
    p.add_argument('--flavor', default='m1.nano')
    p.add_argument('--server-name', required=True)
    p.add_argument('--counts', required=True)
    args = p.parse_args()
    # passwords come in the environment, not on the command line where `ps` shows them
    args.admin_password = os.environ['HORIZON_ADMIN_PASSWORD']
    args.member_password = os.environ['HORIZON_MEMBER_PASSWORD']

    # What some pages must list (what horizon.sh made, and the flavor it launches).
    must = {'/project/images/': [args.image_name], '/admin/images/': [args.image_name],
            '/admin/flavors/': [args.flavor], '/identity/': [args.project],
            '/identity/users/': [args.member], '/admin/networks/': [args.network_id]}
    admin = Browser(args.url, 'admin')
    args.admin = None
    if admin.login('admin', args.admin_password):
        args.admin = admin
        for name, path in PROJECT_PAGES + ADMIN_PAGES:
            admin.check_page(name, path, must.get(path, ()))
    must['/project/networks/'] = [args.network_id]
    member = Browser(args.url, 'member')
    if member.login(args.member, args.member_password):
        for name, path in PROJECT_PAGES:
            member.check_page(name, path, must.get(path, ()))
        keypair(member)
        network_and_security_group(member)
        launch(member, args)
    with open(args.counts, 'w') as f:
        f.write(f'{PASSED} {FAILED}\n')
    return 1 if FAILED else 0


if __name__ == '__main__':
    sys.exit(main())
