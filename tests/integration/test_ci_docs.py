# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""docs/ci.md, run: the GitHub Actions job and the GitLab CI job it documents, taken from the document itself.

The ```yaml blocks of docs/ci.md are parsed; the GitHub workflow's `run:` steps and the GitLab job's before_script,
script and after_script lines run in order, in bash, in a workspace holding what the user's repository holds (the
collection's release tarball under vendor/, built from this checkout; no key), with the environment the runner would
give: the secrets and CI variables pointing at the fake org, and SFJWT_CA_PATH, a runner setting, trusting the fake
org's test CA. The documented `ansible-galaxy collection install` of the tarball runs as it is, offline.

What is not run, by one rule: `uses:` steps (checkout, setup-python: the runner's preparation) and the Python package
installs, every command line starting with `python -m pip install` or `pip install`. This venv holds what they install;
they are checked instead: they must pin ansible-core and every package of the collection's requirements.txt, at the
versions this collection is tested with (tests/requirements/core-2.21.txt).
"""

from __future__ import annotations

import base64
import os
import re
import shlex
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
DOC = REPO_ROOT / 'docs' / 'ci.md'
PINNED_REQUIREMENTS = REPO_ROOT / 'tests' / 'requirements' / 'core-2.21.txt'
BIN_DIR = Path(sys.executable).parent
INSTALL_COMMAND = re.compile(r'^(python3? -m pip install|pip3? install)(\s|$)')
GITHUB_EXPRESSION = re.compile(r'\$\{\{\s*(.*?)\s*\}\}')
# A runner's bash: GitHub's default shell on Linux, GitLab's shell executor alike.
BASH = ['bash', '--noprofile', '--norc', '-eo', 'pipefail']


# -- the document ---------------------------------------------------------------------------------------------------

def yaml_blocks():
    return [yaml.safe_load(block) for block in re.findall(r'^```yaml\n(.*?)^```', DOC.read_text(), re.S | re.M)]


def github_workflow():
    found = [block for block in yaml_blocks()
             if isinstance(block, dict) and isinstance(block.get('jobs'), dict)
             and all('runs-on' in job for job in block['jobs'].values())]
    assert len(found) == 1, 'docs/ci.md must hold one GitHub Actions workflow, found %d' % len(found)
    assert len(found[0]['jobs']) == 1, 'the workflow must have one job'
    return found[0], next(iter(found[0]['jobs'].values()))


def gitlab_pipeline():
    found = [block for block in yaml_blocks()
             if isinstance(block, dict) and 'jobs' not in block
             and any(isinstance(value, dict) and 'script' in value for value in block.values())]
    assert len(found) == 1, 'docs/ci.md must hold one GitLab CI pipeline, found %d' % len(found)
    jobs = [value for value in found[0].values() if isinstance(value, dict) and 'script' in value]
    assert len(jobs) == 1, 'the pipeline must have one job'
    return found[0], jobs[0]


def logical_lines(script):
    """The command lines of a shell script, backslash continuations joined."""
    return script.replace('\\\n', ' ').splitlines()


def split_installs(commands):
    """(commands with every install line replaced by ':', the install lines)."""
    kept, installs = [], []
    for command in commands:
        lines = []
        for line in logical_lines(command):
            if INSTALL_COMMAND.match(line.strip()):
                installs.append(line.strip())
                lines.append(':  # pip install, satisfied by the test environment')
            else:
                lines.append(line)
        kept.append('\n'.join(lines))
    return kept, installs


def pinned_versions():
    pins = {}
    for line in PINNED_REQUIREMENTS.read_text().splitlines():
        if '==' in line and not line.startswith('#'):
            name, version = line.split('==', 1)
            pins[name.strip().lower()] = version.strip()
    return pins


def job_packages():
    """What a job installs with pip: ansible-core and every package of the collection's requirements.txt."""
    names = {'ansible-core'}
    for line in (REPO_ROOT / 'requirements.txt').read_text().splitlines():
        line = line.split('#', 1)[0].strip()
        if line:
            names.add(re.split(r'[<>=!~ ;\[]', line, maxsplit=1)[0].lower())
    return names


def collection_tarball():
    return 'vendor/sfjwt-salesforce-%s.tar.gz' % yaml.safe_load((REPO_ROOT / 'galaxy.yml').read_text())['version']


def check_installs(installs, commands):
    """The skipped pip install pins what the test environment holds; the collection comes from the vendored tarball."""
    assert len(installs) == 1, installs
    packages = [arg for arg in shlex.split(installs[0]) if arg not in ('python', 'python3', '-m', 'pip', 'install')]
    assert all('==' in package for package in packages), 'every package is pinned: %s' % packages
    wanted = {name.lower(): version for name, version in (package.split('==', 1) for package in packages)}
    tested = pinned_versions()
    assert wanted == {name: tested[name] for name in job_packages()}, (
        'docs/ci.md must pin ansible-core and requirements.txt at the versions of %s' % PINNED_REQUIREMENTS.name)
    galaxy = [shlex.split(line.strip()) for command in commands for line in logical_lines(command)
              if line.strip().startswith('ansible-galaxy')]
    assert galaxy == [['ansible-galaxy', 'collection', 'install', collection_tarball()]], galaxy


def vendor_tarball(workspace):
    """The release tarball the user's repository holds, built from this checkout."""
    subprocess.run([str(BIN_DIR / 'ansible-galaxy'), 'collection', 'build', str(REPO_ROOT), '--output-path',
                    str(workspace / 'vendor')], check=True, capture_output=True, text=True, timeout=300)
    assert (workspace / collection_tarball()).is_file()


# -- the run ---------------------------------------------------------------------------------------------------------

def runner_env(fake_org, home):
    """What every job starts with on the runner: a clean environment, Python with the pip installs, the CA setting."""
    env = {name: value for name, value in os.environ.items() if name in ('LANG', 'LC_ALL', 'TMPDIR', 'TZ')}
    env.update({
        'HOME': str(home),
        'PATH': '%s%s%s' % (BIN_DIR, os.pathsep, os.environ.get('PATH', '/usr/bin:/bin')),
        # ansible's default first collections path, where the job installs the collection; nothing else of this machine
        'ANSIBLE_COLLECTIONS_PATH': str(home / '.ansible' / 'collections'),
        'ANSIBLE_COLLECTIONS_SCAN_SYS_PATH': 'false',
        'ANSIBLE_NOCOLOR': '1',
        # A runner setting, as for a TLS-intercepting proxy's CA: the fake org's test CA.
        'SFJWT_CA_PATH': fake_org.ca_path,
    })
    return env


def run_shell(script, env, cwd, log, show_script=False):
    if show_script:   # GitHub's log shows a step's script; GitLab's each command (the script prints them itself)
        log.append(script if script.endswith('\n') else script + '\n')
    proc = subprocess.run(BASH + ['-c', script], env=env, cwd=str(cwd), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=600, check=False)
    log.append(proc.stdout)
    return proc.returncode


def github_value(value, contexts):
    """A workflow value with its ${{ }} expressions evaluated, for the few contexts the document may use."""
    def evaluate(match):
        expression = match.group(1)
        if expression not in contexts:
            pytest.fail('docs/ci.md uses ${{ %s }}, which this test does not provide; add it to the contexts' % expression)
        return contexts[expression]
    return GITHUB_EXPRESSION.sub(evaluate, str(value))


def gitlab_value(value, env):
    """A GitLab variable's value with $NAME and ${NAME} expanded, as GitLab does."""
    return re.sub(r'\$\{(\w+)\}|\$(\w+)', lambda m: env.get(m.group(1) or m.group(2), ''), str(value))


# -- the secrets ------------------------------------------------------------------------------------------------------

def key_lines(key_pem):
    """The base64 lines of the key (the BEGIN/END lines are not secret; a short last line could be anywhere)."""
    return [line for line in key_pem.decode().splitlines() if not line.startswith('-----') and len(line) >= 16]


def assert_clean_log(log, key_pem, tokens, *extra_secrets):
    # Counted, never compared in an assert: a failure must not print the secret it found.
    assert tokens, 'the job obtained no token'
    leaked_tokens = sum(1 for token in tokens if token in log or token.split('!', 1)[1] in log)
    assert leaked_tokens == 0, '%d access token(s) in the job log' % leaked_tokens
    leaked_lines = sum(1 for line in key_lines(key_pem) if line in log)
    assert leaked_lines == 0, '%d line(s) of the private key in the job log' % leaked_lines
    leaked_secrets = sum(1 for secret in extra_secrets if secret in log)
    assert leaked_secrets == 0, '%d other secret(s) in the job log' % leaked_secrets


def assert_limits_shown(log, org):
    assert re.search(r'DailyApiRequests: \d+ of 100000 remaining', log), log[-4000:]
    assert '%s answers with API v' % org.url in log, log[-4000:]
    assert 'Unable to find' not in log, 'a spurious warning outside a provision directory'


def assert_no_key_written(*roots, key_pem):
    lines = key_lines(key_pem)
    for root in roots:
        for directory, dummy, names in os.walk(root):
            for name in names:
                path = os.path.join(directory, name)
                if os.path.islink(path) or not os.path.isfile(path):
                    continue
                with open(path, 'rb') as handle:
                    content = handle.read().decode('utf-8', 'replace')
                written = sum(1 for line in lines if line in content)
                assert written == 0, 'the job wrote the key to %s' % path


# -- the tests --------------------------------------------------------------------------------------------------------

def test_the_documented_jobs_take_the_key_from_a_secret():
    text = DOC.read_text()
    workflow, job = github_workflow()
    steps = job['steps']
    assert 'SFJWT_PRIVATE_KEY_PATH' not in yaml.safe_dump(workflow), 'the GitHub job must not use a key file'
    login_steps = [step for step in steps if 'ansible-playbook' in step.get('run', '')]
    assert [step['run'] for step in login_steps] == ['ansible-playbook sfjwt.salesforce.doctor',
                                                     'ansible-playbook sfjwt.salesforce.limits'], 'the doctor first'
    for step in login_steps:
        env = dict(workflow.get('env') or {}, **(job.get('env') or {}), **(step.get('env') or {}))
        assert env['SFJWT_PRIVATE_KEY'] == '${{ secrets.SFJWT_PRIVATE_KEY }}'
    for step in steps:
        if step not in login_steps:
            assert 'SFJWT_PRIVATE_KEY' not in (step.get('env') or {}), 'the key reaches only the steps that log in'
    assert 'SFJWT_PRIVATE_KEY' not in (job.get('env') or {}) and 'SFJWT_PRIVATE_KEY' not in (workflow.get('env') or {})

    pipeline, gitlab_job = gitlab_pipeline()
    committed = dict(pipeline.get('variables') or {}, **(gitlab_job.get('variables') or {}))
    assert not [name for name in committed if name.startswith('SFJWT_PRIVATE_KEY')], 'a key in .gitlab-ci.yml is committed'
    assert 'SFJWT_PRIVATE_KEY_PATH' not in yaml.safe_dump(pipeline), 'the GitLab job must not use a key file'
    script = '\n'.join(gitlab_job['script'])
    assert '"$SFJWT_PRIVATE_KEY_B64" | base64 -d' in script and 'export SFJWT_PRIVATE_KEY' in script
    assert script.index('sfjwt.salesforce.doctor') < script.index('sfjwt.salesforce.limits'), 'the doctor first'

    # No key in any job, and no file of the repository is named as one.
    for definition in (workflow, pipeline):
        dumped = yaml.safe_dump(definition)
        assert '-----BEGIN' not in dumped and not re.search(r'\.(key|pem)\b', dumped)
    assert not re.search(r'-----BEGIN [A-Z ]*PRIVATE KEY-----\s*\n\s*[A-Za-z0-9+/]{16}', text), 'a key in docs/ci.md'


def test_gitlab_masking_rules_hold_for_the_documented_form(fake_org_app):
    """The document says a PEM cannot be a masked GitLab variable and its one-line base64 can; GitLab's rules say so."""
    def maskable(value):
        # GitLab: one line, no spaces, at least 8 characters; older releases: only the Base64 alphabet and @ : . ~
        return len(value) >= 8 and not re.search(r'\s', value) and re.fullmatch(r'[A-Za-z0-9+/=@:.~]+', value) is not None

    assert not maskable(fake_org_app.private_key_pem.decode())
    assert maskable(base64.b64encode(fake_org_app.private_key_pem).decode())
    proc = subprocess.run(['base64', '-w0', str(fake_org_app.key_path)], capture_output=True, text=True, check=True)
    assert proc.stdout == base64.b64encode(fake_org_app.private_key_pem).decode(), 'the documented command gives that line'


def test_github_actions_job(fake_org_app, tmp_path):
    org = fake_org_app.org
    workflow, job = github_workflow()
    workspace, runner_temp, home = tmp_path / 'workspace', tmp_path / 'runner-temp', tmp_path / 'home'
    for directory in (workspace, runner_temp, home):
        directory.mkdir()
    vendor_tarball(workspace)
    secrets = {'SFJWT_PRIVATE_KEY': fake_org_app.private_key_pem.decode()}
    variables = {'SFJWT_CONSUMER_KEY': fake_org_app.consumer_key, 'SFJWT_USERNAME': fake_org_app.username,
                 'SFJWT_LOGIN_URL': org.url}
    contexts = {'runner.temp': str(runner_temp), 'github.workspace': str(workspace)}
    # GitHub gives an empty string for a secret or variable that is not set.
    for name in re.findall(r'secrets\.(\w+)', DOC.read_text()):
        contexts['secrets.' + name] = secrets.get(name, '')
    for name in re.findall(r'vars\.(\w+)', DOC.read_text()):
        contexts['vars.' + name] = variables.get(name, '')

    base = runner_env(org, home)
    base.update({'GITHUB_ACTIONS': 'true', 'CI': 'true', 'RUNNER_TEMP': str(runner_temp), 'GITHUB_WORKSPACE': str(workspace)})
    log, installs, scripts = [], [], []
    ran = 0
    for step in job['steps']:
        if 'uses' in step:
            continue    # the runner's preparation (checkout, Python), not shell
        assert step.get('shell', 'bash') == 'bash'
        env = dict(base)
        for level in (workflow.get('env'), job.get('env'), step.get('env')):
            env.update({name: github_value(value, contexts) for name, value in (level or {}).items()})
        (script,), step_installs = split_installs([step['run']])
        installs += step_installs
        scripts.append(script)
        log.append('Run %s\n' % step.get('name', step['run'].splitlines()[0]))
        rc = run_shell(script, env, workspace, log, show_script=True)
        ran += 1
        assert rc == 0, 'step %r failed:\n%s' % (step.get('name', step['run']), ''.join(log)[-6000:])
    output = ''.join(log)

    check_installs(installs, scripts)
    assert ran == 3
    assert (home / '.ansible' / 'collections' / 'ansible_collections' / 'sfjwt' / 'salesforce').is_dir()
    assert_limits_shown(output, org)
    assert_clean_log(output, fake_org_app.private_key_pem, fake_org_app.org.issued_access_tokens())
    # One login for the job: the doctor's token is reused by the playbook.
    assert org.token_requests_by(fake_org_app.username) == 1
    cache = runner_temp / 'sfjwt-cache'
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700 and list(cache.glob('*.json')), 'the cache is the job\'s'
    assert not (home / '.cache' / 'sfjwt.salesforce').exists()
    assert_no_key_written(workspace, home, key_pem=fake_org_app.private_key_pem)


def test_gitlab_ci_job(fake_org_app, tmp_path):
    org = fake_org_app.org
    pipeline, job = gitlab_pipeline()
    project_dir, home = tmp_path / 'builds' / 'project', tmp_path / 'home'
    project_dir.mkdir(parents=True)
    home.mkdir()
    vendor_tarball(project_dir)
    key_b64 = base64.b64encode(fake_org_app.private_key_pem).decode()
    # Settings > CI/CD > Variables: the masked key and the plain variables.
    project_variables = {'SFJWT_PRIVATE_KEY_B64': key_b64, 'SFJWT_CONSUMER_KEY': fake_org_app.consumer_key,
                         'SFJWT_USERNAME': fake_org_app.username, 'SFJWT_LOGIN_URL': org.url}

    env = runner_env(org, home)
    env.update({'GITLAB_CI': 'true', 'CI': 'true', 'CI_PROJECT_DIR': str(project_dir), 'CI_PIPELINE_SOURCE': 'schedule'})
    # Precedence: project variables over job variables over the pipeline's default variables.
    for level in (pipeline.get('variables'), job.get('variables')):
        for name, value in (level or {}).items():
            if name not in project_variables:
                env[name] = gitlab_value(value, env)
    env.update(project_variables)

    commands, installs = split_installs(list(job.get('before_script', [])) + list(job['script']))
    after, after_installs = split_installs(list(job.get('after_script', [])))
    assert not after_installs
    # before_script and script run in one shell; the runner prints each command before running it.
    script = ''.join('printf "%%s\\n" %s\n%s\n' % (shlex.quote('$ ' + command), command) for command in commands)
    log = []
    rc = run_shell(script, env, project_dir, log)
    cache = Path(env['SFJWT_CACHE_DIR'])
    cache_was_used = cache.is_dir() and stat.S_IMODE(cache.stat().st_mode) == 0o700 and bool(list(cache.glob('*.json')))
    # after_script runs in a shell of its own, whatever the script's result.
    after_rc = run_shell(''.join('printf "%%s\\n" %s\n%s\n' % (shlex.quote('$ ' + command), command) for command in after),
                         env, project_dir, log)
    output = ''.join(log)
    assert rc == 0, 'the job failed:\n%s' % output[-6000:]
    assert after_rc == 0, output[-3000:]

    check_installs(installs, commands)
    assert (home / '.ansible' / 'collections' / 'ansible_collections' / 'sfjwt' / 'salesforce').is_dir()
    assert_limits_shown(output, org)
    assert_clean_log(output, fake_org_app.private_key_pem, fake_org_app.org.issued_access_tokens(), key_b64)
    assert org.token_requests_by(fake_org_app.username) == 1
    assert cache_was_used and not cache.exists(), 'the job\'s token cache, removed by after_script'
    assert_no_key_written(project_dir, home, key_pem=fake_org_app.private_key_pem)


# -- "Your own playbooks" ----------------------------------------------------------------------------------------------

def own_playbook():
    """The example playbook of "Your own playbooks": the one ```yaml block that is a list of plays."""
    found = [block for block in yaml_blocks() if isinstance(block, list) and block and 'tasks' in block[0]]
    assert len(found) == 1, 'docs/ci.md must hold one example playbook, found %d' % len(found)
    return found[0]


def test_own_playbook_runs_as_written_behind_a_private_ca(ansible, fake_org_app, tmp_path):
    """The example runs as it is, with the job's SFJWT_* environment: the query is one the org parses, and the uri task
    trusts the CA of SFJWT_CA_PATH (here the fake org's private CA, as a TLS-intercepting proxy's would be)."""
    org = fake_org_app.org
    playbook = tmp_path / 'nightly-export.yml'
    playbook.write_text(yaml.safe_dump(own_playbook()))
    tasks = own_playbook()[0]['tasks']
    uri_tasks = [task for task in tasks if 'ansible.builtin.uri' in task]
    assert len(uri_tasks) == 1 and uri_tasks[0].get('no_log') is True, 'the uri task sends a token: no_log'

    run = ansible.playbook(str(playbook), env=fake_org_app.sfjwt_env())
    assert run.rc == 0, run.output[-6000:]
    assert 'CERTIFICATE_VERIFY_FAILED' not in run.output
    received = org.received_log()
    queries = [entry['query'].get('q') for entry in received if entry['path'].endswith('/query') and entry['status'] == 200]
    midnight = time.strftime('%Y-%m-%dT00:00:00Z', time.gmtime())
    assert queries == ['SELECT Id, Name FROM Account WHERE (LastModifiedDate >= %s)' % midnight], queries
    limits = [entry for entry in received if entry['method'] == 'GET' and entry['path'] == '/services/data/v62.0/limits']
    assert [entry['status'] for entry in limits] == [200]
    assert limits[0]['headers'].get('Authorization') == 'Bearer <redacted>'
    assert_clean_log(run.output, fake_org_app.private_key_pem, org.issued_access_tokens())
