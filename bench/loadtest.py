"""``make loadtest``: the production shape under the load operators put on it.

The script starts everything itself, in a temporary folder: a pouchdb-server, a PostgreSQL
database of its own on the server ``DATABASE_URL`` names (created, then dropped), gunicorn with 4
workers and DEBUG off (static files collected, views warmed as the README says), and 2
``manage.py db_worker`` task workers. It creates 11 campaigns in one CouchDB database, one of them
with 5,000 tokens, and then

1. runs the pilots alone on the 5,000-token campaign (the baseline: nobody watching), then
2. the full load for ``--duration`` seconds: 20 signed-in readers polling at the pages' own pace
   (dashboard with its counts every 5 s, a campaign page with its counts every 3 s and its status
   every 2 s), 5 operators setting status, resetting and locking the 10 small campaigns (through
   the services the views call: queued operations the task workers run, locks taken and ended),
   and the same pilots working the big campaign.

It prints requests, errors and p50/p95/p99 per endpoint, the servers' CPU and memory, the pilot
throughput against the baseline, and the outcome of ``--fault``:

- ``couch-restart``: CouchDB is stopped and started mid-run; how long until ``/healthz`` and a
  page answer 200 again (no portal process restarted);
- ``kill-worker``: one task worker is killed (SIGKILL) mid-run and another started; every
  operation queued must end done, the interrupted ones after a resume.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python -m bench.loadtest --duration 180
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parent.parent
DATABASE = "loadtest"
BIG_TYPE = "big"
BIG_TOKENS = 5_000
SMALL_TOKENS = 200
PASSWORD = "load-test-password-1"
PILOT_JOB_SECONDS = 0.5


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m bench.loadtest", description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=180.0, help="seconds of full load (default 180)")
    parser.add_argument("--baseline", type=float, default=40.0, help="seconds of pilots alone first (default 40)")
    parser.add_argument("--fault", choices=("none", "couch-restart", "kill-worker"), default="none")
    parser.add_argument("--readers", type=int, default=20)
    parser.add_argument("--operators", type=int, default=5)
    parser.add_argument("--pilots", type=int, default=4)
    parser.add_argument("--web-workers", type=int, default=4)
    parser.add_argument("--web-threads", type=int, default=1, help="threads of each gunicorn worker (default 1)")
    args = parser.parse_args(argv)
    if not args.duration > 0 or not args.baseline > 0:
        parser.error("--duration and --baseline must be positive")
    if min(args.readers, args.operators) < 0:
        parser.error("--readers and --operators must be 0 or more")
    if min(args.pilots, args.web_workers, args.web_threads) < 1:
        parser.error("--pilots, --web-workers and --web-threads must be 1 or more")
    return args


# -- the servers -----------------------------------------------------------------------------------

def database_url() -> tuple[str, str]:
    """(the URL of a new database of this run, its name) on the server DATABASE_URL names."""
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    parts = urlsplit(base)
    if not parts.scheme.startswith("postgres"):
        sys.exit("bench.loadtest needs DATABASE_URL=postgres://…: the production shape runs on PostgreSQL")
    name = f"tokenportal_loadtest_{os.getpid()}"
    return urlunsplit(parts._replace(path=f"/{name}")), name


def admin_connection():
    import psycopg

    parts = urlsplit(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    return psycopg.connect(
        host=parts.hostname or "127.0.0.1", port=parts.port or 5432, user=parts.username or "postgres",
        password=parts.password, dbname="postgres", autocommit=True,
    )


class Processes:
    """The child processes of the run, stopped in reverse order at the end."""

    def __init__(self, workdir: Path, env: dict):
        self.workdir, self.env = workdir, env
        self.started: list[subprocess.Popen] = []

    def start(self, name: str, *command: str) -> subprocess.Popen:
        process = subprocess.Popen(
            command, cwd=BASE_DIR, env=self.env, stdout=open(self.workdir / f"{name}.log", "ab"),
            stderr=subprocess.STDOUT, start_new_session=True,
        )
        self.started.append(process)
        return process

    def manage(self, *args: str) -> None:
        subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, env=self.env, check=True,
                       stdout=subprocess.DEVNULL)

    def stop_all(self) -> None:
        for process in reversed(self.started):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.started:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def start_worker(processes: Processes, number: int) -> subprocess.Popen:
    return processes.start(f"worker{number}", sys.executable, "manage.py", "db_worker", "--no-reload",
                           "--interval", "0.5", "--worker-id", f"loadtest-{number}")


# -- measuring -------------------------------------------------------------------------------------

class Recorder:
    """Latency and status of every request, by endpoint."""

    def __init__(self):
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, list[str]] = defaultdict(list)

    def get(self, session, url: str, endpoint: str, **kwargs):
        import requests

        started = time.monotonic()
        try:
            response = session.get(url, timeout=120, **kwargs)
            problem = f"HTTP {response.status_code}" if response.status_code >= 400 else None
        except requests.RequestException as exc:
            response, problem = None, type(exc).__name__
        elapsed = time.monotonic() - started
        with self.lock:
            self.latencies[endpoint].append(elapsed)
            if problem:
                self.errors[endpoint].append(problem)
        return response


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class Sampler(threading.Thread):
    """CPU (percent of one core) and resident memory of the server processes, every second."""

    def __init__(self, groups: dict[str, callable]):
        super().__init__(daemon=True)
        self.groups = groups
        self.samples: dict[str, list[tuple[float, float]]] = defaultdict(list)
        self.stopped = threading.Event()

    def run(self):
        import psutil

        tracked: dict[int, psutil.Process] = {}
        while not self.stopped.wait(1.0):
            for name, pids in self.groups.items():
                cpu = rss = 0.0
                for pid in pids():
                    try:
                        process = tracked.get(pid) or tracked.setdefault(pid, psutil.Process(pid))
                        cpu += process.cpu_percent()
                        rss += process.memory_info().rss
                    except psutil.Error:
                        tracked.pop(pid, None)
                self.samples[name].append((cpu, rss))


def family(process: subprocess.Popen):
    """The pids of ``process`` and its children (gunicorn's workers, pouchdb-server's node)."""
    import psutil

    def pids():
        try:
            parent = psutil.Process(process.pid)
            return [parent.pid, *(child.pid for child in parent.children(recursive=True))]
        except psutil.Error:
            return []
    return pids


# -- the load --------------------------------------------------------------------------------------

def signed_in(url: str, username: str):
    import re

    import requests

    session = requests.Session()
    form = session.get(url + "/accounts/login/", timeout=120)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
    response = session.post(url + "/accounts/login/", data={
        "username": username, "password": PASSWORD, "csrfmiddlewaretoken": token,
    }, allow_redirects=False, timeout=120)
    if response.status_code != 302:
        raise RuntimeError(f"{username} could not sign in: HTTP {response.status_code}")
    return session


def reader(url: str, username: str, session, campaign_ids: list[int], big_id: int, recorder: Recorder,
           deadline: float, stop: threading.Event) -> None:
    """A signed-in user (``session``) who opens the dashboard and campaign pages and leaves them
    open, as the pages poll."""
    rng = random.Random(username)
    all_ids = ",".join(map(str, campaign_ids))

    def wait(seconds: float) -> bool:
        return not stop.wait(seconds) and time.monotonic() < deadline

    stop.wait(rng.uniform(0, 5))  # readers do not arrive all at once
    while time.monotonic() < deadline and not stop.is_set():
        recorder.get(session, url + "/", "dashboard")
        for _ in range(3):
            if not wait(5):
                return
            recorder.get(session, f"{url}/api/counts/?ids={all_ids}", "counts API (dashboard)")
        pk = big_id if rng.random() < 0.4 else rng.choice(campaign_ids)
        recorder.get(session, f"{url}/campaigns/{pk}/", "campaign page")
        for tick in range(6):
            if not wait(1.5):
                return
            recorder.get(session, f"{url}/campaigns/{pk}/status/", "campaign status API")
            if tick % 2:
                recorder.get(session, f"{url}/api/counts/?ids={pk}", "counts API (campaign)")


def operator(username: str, small_ids: list[int], queued: list[int], actions: defaultdict, deadline: float,
             stop: threading.Event) -> None:
    """Set status, reset and lock small campaigns through the services the views call."""
    from django.contrib.auth import get_user_model
    from django.db import close_old_connections

    from locks_app.broker import BrokerError, TokenBroker
    from tokens_app.models import Campaign, Operation
    from tokens_app.services import ServiceError, runs

    rng = random.Random(username)
    user = get_user_model().objects.get(username=username)
    try:
        while not stop.wait(rng.uniform(4, 8)) and time.monotonic() < deadline:
            campaign = Campaign.objects.get(pk=rng.choice(small_ids))
            choice = rng.choice(("set status", "reset", "lock"))
            try:
                if choice == "lock":
                    broker = TokenBroker(user)
                    broker.lock(campaign)
                    stop.wait(rng.uniform(1, 3))
                    broker.end(campaign)
                else:
                    action = Operation.Action.SET_STATUS if choice == "set status" else Operation.Action.RESET
                    options = {"status": f"checked-{rng.randrange(100)}"} if choice == "set status" else {}
                    operation = runs.queue_operation(action, campaign, user, source="command", options=options)
                    queued.append(operation.pk)
                actions[choice] += 1
            except (ServiceError, BrokerError) as exc:  # another operator's lock: refused, as in the browser
                actions[f"refused ({type(exc).__name__})"] += 1
            except Exception as exc:  # counted and shown in the report, not hidden
                actions[f"error ({type(exc).__name__}: {exc})"] += 1
    finally:
        close_old_connections()


def pilot(access, deadline: float, counter) -> None:
    """A pilot process: claim, run and finish tokens of the big campaign until ``deadline``."""
    from devtools.pilots import claim_token, finish_token
    from tokens_app.couch import Conflict

    gateway = access.gateway()
    rng = random.Random()
    while time.time() < deadline:
        try:
            doc = claim_token(gateway, DATABASE, BIG_TYPE, f"pilot-{os.getpid()}", rng)
        except Conflict:
            continue
        except Exception:  # CouchDB restarting: a real pilot retries later
            time.sleep(1)
            continue
        if doc is None:
            return
        time.sleep(PILOT_JOB_SECONDS * rng.uniform(0.5, 1.5))
        try:
            finish_token(gateway, DATABASE, doc, failed=False)
            with counter.get_lock():
                counter.value += 1
        except Exception:
            time.sleep(1)


def run_pilots(access, pilots: int, seconds: float) -> float:
    """Tokens finished per second by ``pilots`` pilot processes in ``seconds``."""
    context = multiprocessing.get_context("spawn")
    counter = context.Value("l", 0)
    deadline = time.time() + seconds
    processes = [context.Process(target=pilot, args=(access, deadline, counter)) for _ in range(pilots)]
    started = time.monotonic()
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    return counter.value / (time.monotonic() - started)


def time_until_ok(check, limit: float = 120.0) -> float | None:
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if check():
            return time.monotonic() - started
        time.sleep(0.1)
    return None


# -- the run ---------------------------------------------------------------------------------------

def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    # A terminated run (Ctrl-C, timeout) still stops its servers and drops its database.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    url_of_database, database_name = database_url()
    with tempfile.TemporaryDirectory(prefix="tokenportal-loadtest-") as tmp:
        workdir = Path(tmp)
        with admin_connection() as admin:
            admin.execute(f'CREATE DATABASE "{database_name}"')
        try:
            return run(args, workdir, url_of_database)
        finally:
            with admin_connection() as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{database_name}" WITH (FORCE)')


def run(args, workdir: Path, url_of_database: str) -> int:
    from bench.environment import couch_engine
    from devtools.apachecouch import local_server
    from devtools.localcouch import free_port

    couch = local_server(couch_engine(), workdir / "couchdb", user="admin", password=secrets.token_urlsafe(16))
    couch.start()
    port = free_port()
    env = {
        **os.environ, "DJANGO_SETTINGS_MODULE": "tokenportal.settings", "TOKENPORTAL_ENV_FILE": "/dev/null",
        "TOKENPORTAL_VAR_DIR": str(workdir / "var"), "DEBUG": "false", "SECRET_KEY": secrets.token_urlsafe(48),
        "ALLOWED_HOSTS": "127.0.0.1", "DATABASE_URL": url_of_database, "COUCHDB_URL": couch.url,
        "COUCHDB_USER": couch.user, "COUCHDB_PASSWORD": couch.password, "COUCHDB_DATABASE": DATABASE,
        "LOG_LEVEL": "WARNING", "TASKS_BACKEND": "django_tasks_db.DatabaseBackend", "LOGIN_RATE_LIMIT": "100",
    }
    env.pop("STATIC_MANIFEST", None)
    os.environ.update(env)
    processes = Processes(workdir, env)
    try:
        return load(args, workdir, couch, port, processes)
    finally:
        processes.stop_all()
        couch.destroy()


def load(args, workdir: Path, couch, port: int, processes: Processes) -> int:
    import django

    django.setup()
    from bench.report import machine
    from devtools.pilots import CouchAccess
    from tokens_app.couch import get_gateway

    print("\n".join(f"{name}: {value}" for name, value in machine().items()), flush=True)
    print(f"load average before: {os.getloadavg()}", flush=True)
    processes.manage("migrate", "--verbosity=0")
    processes.manage("collectstatic", "--noinput", "--verbosity=0")
    operators, readers = make_users(args)
    gateway = get_gateway()
    big, small = create_campaigns(gateway, operators[0])
    began = time.monotonic()
    processes.manage("warm_views")
    print(f"views warmed in {time.monotonic() - began:.0f} s", flush=True)
    web, workers, url = start_portal(args, workdir, port, processes)
    open_first_pages(url, readers[0], big)

    access = CouchAccess.of(gateway)
    print(f"baseline: {args.pilots} pilots alone for {args.baseline:g} s …", flush=True)
    alone = run_pilots(access, args.pilots, args.baseline)

    sampler = Sampler({
        "gunicorn (master + workers)": family(web),
        "task workers": lambda: [pid for worker in workers for pid in family(worker)()],
        f"CouchDB server ({os.environ.get('COUCHDB_ENGINE') or 'pouchdb'})": (
            lambda: family(couch.process)() if couch.process else []),
        "load generator (this process: readers, operators)": lambda: [os.getpid()],
    })
    sampler.start()
    recorder, watched, actions, queued, fault = full_load(
        args, url, access, couch, processes, workers, readers, operators, big, small)
    sampler.stopped.set()
    load_average = os.getloadavg()
    load_ended = time.time()

    # Every queued operation ends done (resumed when its worker was killed under it).
    outcome = settle_operations(queued, operators[0])
    report(args, recorder, sampler, alone, watched, actions, outcome, fault, load_average)
    report_queue(queue_figures(queued, load_ended))
    return 0


def make_users(args) -> tuple[list, list[str]]:
    """(the operators, superusers; the readers' usernames), all with the password PASSWORD."""
    from django.contrib.auth import get_user_model

    users = get_user_model().objects
    operators = [users.create_superuser(f"operator{n}", password=PASSWORD) for n in range(1, args.operators + 1)]
    readers = [users.create_user(f"reader{n}", password=PASSWORD).username for n in range(1, args.readers + 1)]
    return operators, readers


def create_campaigns(gateway, user) -> tuple:
    """(the big campaign, the 10 small ones), created by ``user`` in the run's CouchDB database."""
    from bench.inputs import campaign_kwargs
    from tokens_app.services import create_tokenset

    began = time.monotonic()
    gateway.create_database(DATABASE)
    big, _ = create_tokenset(user=user, token_type=BIG_TYPE, **campaign_kwargs(BIG_TOKENS, 1, DATABASE))
    small = [
        create_tokenset(user=user, token_type=f"small{n:02d}", **campaign_kwargs(SMALL_TOKENS, 1, DATABASE))[0]
        for n in range(1, 11)
    ]
    print(f"11 campaigns created ({BIG_TOKENS:,} + 10 × {SMALL_TOKENS} tokens) in {time.monotonic() - began:.0f} s",
          flush=True)
    return big, small


def start_portal(args, workdir: Path, port: int, processes: Processes) -> tuple:
    """(gunicorn, the two task workers, the portal's URL), once ``/healthz`` answers 200; the
    changes follower beside them."""
    web = processes.start("gunicorn", sys.executable, "-m", "gunicorn", "tokenportal.wsgi", "--workers",
                          str(args.web_workers), "--threads", str(args.web_threads), "--bind", f"127.0.0.1:{port}",
                          "--timeout", "120")
    workers = [start_worker(processes, 1), start_worker(processes, 2)]
    # The changes follower keeps the read model every page reads, as the deployment does.
    processes.start("follower", sys.executable, "manage.py", "follow_changes")
    url = f"http://127.0.0.1:{port}"
    if time_until_ok(lambda: _status(url + "/healthz") == 200) is None:
        raise RuntimeError(f"gunicorn did not answer; see {workdir / 'gunicorn.log'}")
    return web, workers, url


def open_first_pages(url: str, username: str, big) -> None:
    """Print how long the first dashboard and big campaign page take after ``warm_views``."""
    session = signed_in(url, username)
    for name, path in (("dashboard", "/"), ("campaign page (5,000 tokens)", f"/campaigns/{big.pk}/")):
        began = time.monotonic()
        status = session.get(url + path, timeout=300).status_code
        print(f"first {name} after warm_views: HTTP {status} in {time.monotonic() - began:.1f} s", flush=True)


def full_load(args, url: str, access, couch, processes: Processes, workers: list, readers: list[str],
              operators: list, big, small: list) -> tuple:
    """Readers, operators and pilots together for ``args.duration`` seconds, the fault half-way;
    (the requests' recorder, the pilots' tokens per second, the operators' actions, the operations
    they queued, what the fault did)."""
    recorder = Recorder()
    stop = threading.Event()
    # The readers are signed in before the measured window, as the readers are: twenty
    # sign-ins at once (password hashing, 0.4 s of CPU each) would queue the first pages behind them.
    sessions = {name: signed_in(url, name) for name in readers}
    deadline = time.monotonic() + args.duration
    ids = [big.pk, *(campaign.pk for campaign in small)]
    queued: list[int] = []
    actions: defaultdict = defaultdict(int)
    threads = [
        threading.Thread(target=reader, args=(url, name, sessions[name], ids, big.pk, recorder, deadline, stop),
                         daemon=True)
        for name in readers
    ] + [
        threading.Thread(target=operator, args=(user.username, [c.pk for c in small], queued, actions, deadline, stop),
                         daemon=True)
        for user in operators
    ]
    print(f"full load for {args.duration:g} s: {args.readers} readers, {args.operators} operators, "
          f"{args.pilots} pilots …", flush=True)
    for thread in threads:
        thread.start()
    fault = {}
    pilots_result = {}
    pilot_thread = threading.Thread(target=lambda: pilots_result.setdefault(
        "rate", run_pilots(access, args.pilots, args.duration)), daemon=True)
    pilot_thread.start()
    if args.fault != "none":
        time.sleep(args.duration / 2)
        fault = inject(args.fault, url, couch, processes, workers)
    pilot_thread.join()
    stop.set()
    for thread in threads:
        thread.join(timeout=180)
    return recorder, pilots_result.get("rate", 0.0), actions, queued, fault


def _status(url: str) -> int | None:
    import requests

    try:
        return requests.get(url, timeout=5).status_code
    except requests.RequestException:
        return None


def inject(fault: str, url: str, couch, processes: Processes, workers: list) -> dict:
    if fault == "couch-restart":
        print("fault: restarting CouchDB …", flush=True)
        session = signed_in(url, "reader1")
        couch.stop()
        stopped = time.monotonic()
        couch.start()
        restarted = time.monotonic()
        healthz = time_until_ok(lambda: _status(url + "/healthz") == 200)
        page = time_until_ok(lambda: session.get(url + "/", timeout=30).status_code == 200)
        return {"CouchDB down (s)": f"{restarted - stopped:.1f}",
                "/healthz 200 again after the restart (s)": "never" if healthz is None else f"{healthz:.2f}",
                "dashboard 200 again after the restart (s)": "never" if page is None else f"{page:.2f}"}
    print("fault: killing a task worker …", flush=True)
    from tokens_app.models import Operation

    # Kill the worker while it runs an operation, if one does within 30 s.
    time_until_ok(lambda: Operation.objects.filter(state=Operation.State.RUNNING).exists(), limit=30)
    victim = workers.pop(0)
    os.killpg(victim.pid, signal.SIGKILL)
    workers.append(start_worker(processes, 3))
    return {"task worker killed (SIGKILL) at": "mid-run, then a new one started"}


def settle_operations(queued: list[int], user) -> dict:
    """Wait until every queued operation is final, resuming those left interrupted (as an operator
    does with the campaign page's button); how many ended in each state."""
    from tokens_app.models import Operation
    from tokens_app.services import runs
    from tokens_app.tasks import expire_leases

    deadline = time.monotonic() + 300
    resumed = 0
    operations = Operation.objects.filter(pk__in=queued)
    while time.monotonic() < deadline and operations.exclude(state__in=Operation.FINAL_STATES).exists():
        expire_leases()
        for operation in operations.filter(state=Operation.State.INTERRUPTED):
            runs.resume_operation(operation, user)
            resumed += 1
        time.sleep(1)
    states = defaultdict(int)
    for state, error in operations.values_list("state", "error"):
        states[state] += 1
        if error:
            states[f"error: {error[:200]}"] += 1
    return {"queued": len(queued), "resumed after a lapsed lease": resumed, **states}


def queue_figures(queued: list[int], load_ended: float) -> dict:
    """How the operators' operations went through the queue: how many were queued, started and
    done, how long each waited for a worker (queued → started), and when the last one ended
    after the load stopped (issue #30's targets: wait p95 < 10 s, every one done within 30 s)."""
    from tokens_app.models import Operation

    rows = list(Operation.objects.filter(pk__in=queued).values("state", "created_at", "started_at", "finished_at"))
    waits = [(row["started_at"] - row["created_at"]).total_seconds() for row in rows if row["started_at"]]
    ends = [row["finished_at"].timestamp() for row in rows if row["finished_at"]]
    return {
        "queued": len(rows), "started": len(waits),
        "done": sum(row["state"] == Operation.State.DONE for row in rows),
        # The guard may refuse an operation when it starts (a colleague locked the campaign
        # meanwhile): a final answer, not one lost or failed.
        "refused": sum(row["state"] == Operation.State.REFUSED for row in rows),
        "wait": waits, "last ended after the load": max(ends) - load_ended if ends else None,
    }


def report_queue(figures: dict) -> None:
    waits, drained = figures["wait"], figures["last ended after the load"]
    print()
    print("| operations queued | started | done | refused by the guard | wait p50 | wait p95 | wait max | last ended after the load |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    shown = [f"{percentile(waits, q):.1f} s" if waits else "—" for q in (.5, .95, 1.0)]
    print(f"| {figures['queued']} | {figures['started']} | {figures['done']} | {figures['refused']} | "
          f"{' | '.join(shown)} | {'—' if drained is None else f'{max(drained, 0):.1f} s'} |")
    ended = figures["done"] + figures["refused"] == figures["queued"]
    met = waits and percentile(waits, .95) < 10 and ended and (drained or 0) <= 30
    print(f"queue targets (wait p95 < 10 s, every operation done, or refused by the guard, within 30 s of the load's end): "
          f"{'met' if met else 'NOT met'}")


def report(args, recorder, sampler, alone, watched, actions, outcome, fault, load_average) -> None:
    print()
    print("| endpoint | requests | errors | p50 | p95 | p99 |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for endpoint in sorted(recorder.latencies):
        values = recorder.latencies[endpoint]
        errors = recorder.errors[endpoint]
        kinds = ", ".join(f"{n}× {kind}" for kind, n in sorted({e: errors.count(e) for e in errors}.items()))
        print(f"| {endpoint} | {len(values)} | {len(errors)}{f' ({kinds})' if kinds else ''} | "
              f"{percentile(values, .5) * 1000:.0f} ms | {percentile(values, .95) * 1000:.0f} ms | "
              f"{percentile(values, .99) * 1000:.0f} ms |")
    every = [value for values in recorder.latencies.values() for value in values]
    if every:
        print(f"| all | {len(every)} | {sum(map(len, recorder.errors.values()))} | "
              f"{percentile(every, .5) * 1000:.0f} ms | {percentile(every, .95) * 1000:.0f} ms | "
              f"{percentile(every, .99) * 1000:.0f} ms |")
    print()
    print("| server | CPU mean | CPU max | memory max |")
    print("| --- | ---: | ---: | ---: |")
    for name, samples in sampler.samples.items():
        if samples:
            cpus = [cpu for cpu, _ in samples]
            print(f"| {name} | {statistics.mean(cpus):.0f} % | {max(cpus):.0f} % | "
                  f"{max(rss for _, rss in samples) / 2**20:.0f} MiB |")
    print()
    ratio = watched / alone if alone else 0.0
    print(f"pilots: {alone:.2f} tokens/s alone, {watched:.2f} tokens/s under load ({ratio:.2f}×)")
    print(f"operator actions: {dict(actions)}")
    print(f"operations: {outcome}")
    for name, value in fault.items():
        print(f"{name}: {value}")
    print(f"load average at the end: {load_average}")


if __name__ == "__main__":
    sys.exit(main())
