#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Every command of README.md's code blocks, run as written (issue 21, Done-when 3).

The commands are read from the README itself, so a changed or added command is tested
without touching this file; a command this test does not know how to run fails it (say how,
or why it cannot run, in SKIPS below). They run in a scratch directory laid out like the
checkout (build/, examples/, data/, scripts/, proto/ link to the real ones), with
$FLEETSIM_BUS set to a private bus, so "the default bus" of the README is this test's own, and
SDL's dummy video driver for the viewer.

- Commands that need no run (`fleetsim run ...`, rollout, record, info, replay, export,
  `fleet-viz --play`) run once, in README order, and must exit 0 and make what the README says.
  Changes, each named in the output: a run paced in real time (`--speed 60`) or recording for
  `play --speed 10` gets an added `--duration` (the README's hour would take a wall minute or
  six); rollout gets an added `--to 2027-05` (its 48 months take a minute and a half);
  `--viz` runs until the launcher says the viewer shows the final state, then gets Ctrl-C as
  the README says; the participant example's fixed /tmp paths become private ones.
- Commands that talk to a run (fleetctl's, `fleet-viz` attaching by hand, `fleetctl play`) run
  at four points of a run: before tick 0 (the run waits for a participant that is never
  started), mid-run, paused, and after it ended. `# also: a, b [N], c X|max` comments expand
  to those commands (step, step 3, speed max, speed 10, ...); pause starts the paused point,
  resume and stop end it. Each must exit as documented: 0 with the README's output while a
  run is there; with no run, status/topics/pause/... exit 1 saying no simulation answers,
  and `play` then plays (a bus with a live run is refused). Streaming commands (echo, hz, the
  viewer) run until their output shows (or, where nothing is due, for two status periods)
  and then get Ctrl-C, after which they exit 0.
"""
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

SRC = os.environ["FS_SOURCE_ROOT"]
BUILD = os.environ["FS_BUILD_ROOT"]
WORK = tempfile.mkdtemp(prefix="fsit.")
BUS = f"ipc://{WORK}/bus/b"
HANG = 120  # s: a hang guard, never a timing assumption
T0 = time.monotonic()

# Commands that cannot run here, and why (matched against the command as written).
SKIPS = [
    (r"^scripts/run\b", "installs Debian packages (as root) and builds before it runs `fleetsim run`, "
     "whose README lines run here"),
    (r"^scripts/test\b", "runs the whole suite, this test among it"),
    (r"^meson setup build --prefix", "installs into /usr/local as root: test_install.sh installs into a "
     "DESTDIR and runs the installed programs"),
    (r"^man ", "reads the installed man pages: test_install.sh runs man on the installed tree"),
    (r"^scripts/calibrate\b", "the 24 h reference day beside published figures, minutes of CPU"),
    (r"^meson (setup|test)\b", "builds and runs this suite"),
    (r"^scripts/(bench|bench-scale|fuzz|test-under-load)\b", "benchmarks, fuzzing, the suite under load: "
     "minutes to hours each"),
]

tap_n = 0
tap_failed = 0


def check(cond, what):
    global tap_n, tap_failed
    tap_n += 1
    if not cond:
        tap_failed += 1
    print(f"{'ok' if cond else 'not ok'} {tap_n} - {what} [{time.monotonic() - T0:.1f} s]", flush=True)
    return cond


def diag(text):
    for line in str(text).splitlines()[:40]:
        print(f"# {line}")


# ---- the README's commands ----------------------------------------------------------------

def expand_also(code, comment):
    """`fleetctl pause  # also: resume, step [N], speed X|max, stop` -> those commands too."""
    m = re.match(r"also:\s*(.*)", comment or "")
    if not m:
        return []
    prefix = code.rsplit(" ", 1)[0]
    out = []
    for alt in m.group(1).split(","):
        variants = [[]]
        for word in alt.split():
            if word == "[N]":
                variants = variants + [v + ["3"] for v in variants]
            elif "|" in word:
                opts = ["10" if o.isupper() else o for o in word.split("|")]
                variants = [v + [o] for v in variants for o in opts]
            else:
                variants = [v + [word] for v in variants]
        out += [prefix + " " + " ".join(v) for v in variants]
    return out


def readme_commands():
    text = open(os.path.join(SRC, "README.md")).read()
    cmds = []
    for block in re.findall(r"^```sh\n(.*?)^```", text, re.S | re.M):
        for line in block.splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            m = re.match(r"(.*?)\s+#\s*(.*)$", line)
            code, comment = (m.group(1).strip(), m.group(2)) if m else (line, "")
            cmds.append(code)
            cmds += expand_also(code, comment)
    return cmds


# ---- running ----------------------------------------------------------------------------

def env_for(extra=None):
    e = dict(os.environ)
    e["FLEETSIM_BUS"] = BUS
    e.setdefault("SDL_VIDEODRIVER", "dummy")
    # Debian's python3 (python3-zmq, python3-protobuf: scripts/deps) before any other on PATH
    e["PATH"] = "/usr/bin:" + e.get("PATH", "")
    if extra:
        e.update(extra)
    return e


started = 0


def start(cmd):
    """Start @cmd in the scratch checkout; a shell only for globs and chains, so p.pid is the program's."""
    global started
    started += 1
    out = open(os.path.join(WORK, f"cmd{started}.out"), "w+")
    shell = any(ch in cmd for ch in "*?&|;<>$")
    p = subprocess.Popen(cmd if shell else shlex.split(cmd), shell=shell, cwd=WORK, env=env_for(), stdout=out,
                         stderr=subprocess.STDOUT, start_new_session=True)
    p.out = out
    return p


def output(p):
    p.out.flush()
    with open(p.out.name) as f:
        return f.read()


def run(cmd, timeout=HANG):
    p = start(cmd)
    try:
        rc = p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        rc = p.wait()
        return -1, output(p) + "\n(hang guard: killed)"
    return rc, output(p)


def catches_sigint(pid):
    """The process takes Ctrl-C itself (/proc: a handler, SigCgt, or blocked for a signalfd, SigBlk),
    so Ctrl-C is its clean stop, not the default death."""
    bit = 1 << (signal.SIGINT - 1)
    try:
        masks = {k: int(v, 16) for k, v in (line.split() for line in open(f"/proc/{pid}/status")
                                             if line.startswith(("SigCgt:", "SigBlk:")))}
    except OSError:
        return False
    return bool((masks.get("SigCgt:", 0) | masks.get("SigBlk:", 0)) & bit)


def wait_until(cond, timeout=HANG):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.05)
    return False


def ctl_status():
    return subprocess.run([f"{BUILD}/services/fleetctl", "status"], env=env_for(), capture_output=True,
                          text=True).stdout


def interrupt(p, ready_re=None, quiet_window=None):
    """Run a streaming command until its output matches @ready_re (or @quiet_window() returned),
    then Ctrl-C it. Returns (rc, output, whether the output showed)."""
    pid = p.pid
    shown = True
    if ready_re:
        shown = wait_until(lambda: re.search(ready_re, output(p), re.M) or p.poll() is not None)
        shown = bool(re.search(ready_re, output(p), re.M))
    wait_until(lambda: catches_sigint(pid) or p.poll() is not None)
    if quiet_window:
        quiet_window()
    if p.poll() is None:
        os.kill(pid, signal.SIGINT)
    try:
        rc = p.wait(timeout=HANG)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        rc = -1
    return rc, output(p), shown


# ---- the commands that need no run --------------------------------------------------------

def adapt(cmd):
    """The README command, with the additions a CI run needs; returns (command, why or None)."""
    if re.search(r"fleetsim rollout\b", cmd):
        return cmd + " --to 2027-05", "a short range: the README's 48 months take a minute and a half"
    if "fleetsim run" in cmd and "--help" not in cmd:
        if "--record" in cmd:
            return cmd + " --duration 30s", "30 s: `play --speed 10` replays it at a tenth of real time"
        m = re.search(r"--speed (\d+)", cmd)
        if m and "--duration" not in cmd:
            return cmd + " --duration 2m", f"two minutes: the README's hour at {m.group(1)}x takes a wall minute"
    return cmd, None


def run_once(cmd):
    shown, why = adapt(cmd)
    if why:
        diag(f"run as: {shown}  ({why})")
    if "--viz" in shown:
        return run_viz_launcher(cmd, shown)
    if "fleet-viz --play" in shown:
        p = start(shown)
        rc, out, played = interrupt(p, r"playing ")
        check(played and rc == 0, f"{cmd}: plays the recording in the viewer, Ctrl-C ends it (exit {rc})") or diag(out)
        return
    rc, out = run(shown)
    good = rc == 0
    if "--help" in shown:
        good = good and "Usage: fleetsim run" in out
    elif "fleetsim run" in shown:
        good = good and re.search(r"run complete after \d+ ticks", out) is not None
        m = re.search(r"--out (\S+)", shown)
        good = good and (not m or os.path.exists(os.path.join(WORK, m.group(1), "summary.json")))
    elif "fleetsim rollout" in shown:
        m = re.search(r"--out (\S+)", shown)
        good = good and all(os.path.exists(os.path.join(WORK, m.group(1), f)) for f in ("rollout.csv", "rollout.png"))
    elif " info " in shown:
        good = good and "messages:" in out and "duration:" in out
    elif "replay" in shown:
        good = good and re.search(r"^identical: \d+ state hashes", out, re.M) is not None
    elif " export " in shown:
        good = good and all(os.path.getsize(os.path.join(WORK, f)) > 0 for f in ("tl.csv", "trips.geojson", "report.png"))
    check(good, f"{cmd} (exit {rc})") or diag(out)


def run_viz_launcher(cmd, shown):
    p = start(shown)
    rc, out, waited = interrupt(p, r"the viewer shows the run's final state")
    check(waited and "viewer" in out and rc == 0,
          f"{cmd}: the run ends, the viewer stays on it until Ctrl-C (exit {rc})") or diag(out)


def run_participant_example(cmds):
    """The README's participant block: protoc, a run waiting for `py`, the Python participant."""
    private = {"/tmp/demo": f"{WORK}/demo/bus", "/tmp/fsproto": f"{WORK}/fsproto"}
    fixed = []
    for c in cmds:
        for a, b in private.items():
            c = c.replace(a, b)
        fixed.append(c)
    diag("the participant example's /tmp/demo and /tmp/fsproto are private paths here")
    have = subprocess.run(["/usr/bin/python3", "-c", "import zmq, google.protobuf"], capture_output=True).returncode == 0
    if not have or not shutil.which("protoc"):
        check(True, "# SKIP the participant example: needs protoc, python3-zmq and python3-protobuf (scripts/deps)")
        return
    os.makedirs(f"{WORK}/fsproto", exist_ok=True)
    rc, out = run(fixed[0])
    check(rc == 0, f"{cmds[0]} (exit {rc})") or diag(out)
    background = fixed[1].rstrip("&").strip() + " --duration 10m"
    diag(f"run as: {background} &  (ten minutes: the participant steps every tick in Python)")
    launcher = start(background)
    rc, out = run(fixed[2])
    check(rc == 0, f"{cmds[2]}: the Python participant runs the whole run in lockstep (exit {rc})") or diag(out)
    try:
        lrc = launcher.wait(timeout=HANG)
    except subprocess.TimeoutExpired:
        os.killpg(launcher.pid, signal.SIGKILL)
        lrc = -1
    check(lrc == 0 and "run complete" in output(launcher), f"{cmds[1]}: the run completes with it (exit {lrc})") \
        or diag(output(launcher))


# ---- the commands that talk to a run ----------------------------------------------------

def kind_of(cmd):
    if "fleet-viz" in cmd:
        return "viz"
    m = re.search(r"fleetctl (\w+)", cmd)
    return m.group(1) if m else None


def live(cmd):
    k = kind_of(cmd)
    return k in ("status", "topics", "echo", "hz", "pause", "resume", "step", "speed", "stop", "inject", "play") or \
        (k == "viz" and "--play" not in cmd)


def quiet_window():
    """Two status periods of the run, or, with no run, the time fleetctl takes to say so."""
    ctl_status()
    ctl_status()


def expect_stream(cmd, point):
    """What a streaming command prints at @point: a regex, or None when nothing is due."""
    k = kind_of(cmd)
    if k == "viz":
        return r"control keys ready"
    if point == "before tick 0":
        return None  # nothing is published before tick 0
    topic = re.search(r"(?:echo|hz) (\S+)", cmd).group(1)
    if point == "paused" and topic != "veh.snapshot":
        return None  # a paused run publishes keyframes only (README: "each minute, and while paused")
    if k == "hz":
        return rf"^{re.escape(topic)}: .*msg/s"
    if "--csv" in cmd:
        return r"^veh\.snapshot,vehicle-\d+,\d+,[^,]+,7,"
    if "--json" in cmd:
        return r'^\{"topic": ?"veh\.event"'
    return rf"^--- {re.escape(topic)}  from "


def run_live(cmd, point):
    k = kind_of(cmd)
    if k in ("echo", "hz", "viz") and point == "ended":
        rc, out = run(cmd)
        check(rc == 1 and "no simulation answers on" in out, f"{point}: {cmd}: exit 1: no simulation answers, was "
              f"exit {rc}") or diag(out)
        return
    if k in ("echo", "hz", "viz"):
        p = start(cmd)
        want = expect_stream(cmd, point)
        rc, out, shown = interrupt(p, want, None if want else quiet_window)
        quiet = not want and (k == "viz" or not re.search(r"^(---|\{|veh|kpi|ctl)", out, re.M))
        check((shown if want else quiet) and rc == 0,
              f"{point}: {cmd}: {'prints ' + want if want else 'prints nothing due'}, Ctrl-C exits 0 (exit {rc})") \
            or diag(out)
        return
    rc, out = run(cmd)
    if point == "ended":
        if k == "play":
            good = rc == 0 and re.search(r"^played [1-9]\d* messages", out, re.M)
            what = "plays the recording onto the bus of the ended run"
        else:
            good = rc == 1 and "no simulation answers on" in out
            what = "exit 1: no simulation answers"
    elif k == "play":
        good = rc == 1 and "a run is live on" in out
        what = "refused: a run is live on the bus (exit 1)"
    else:
        expected = {
            "status": r"^state +" + {"before tick 0": "waiting for participants", "mid-run": "running",
                                      "paused": "paused"}[point],
            "topics": r"^ctl\.status +fleetsim\.v1\.Status +\d",
            "pause": r"^paused at tick \d+",
            "resume": r"^running from tick \d+",
            "step": r"^stepping \d+ tick\(s\) from tick \d+",
            "speed": r"^speed (max|\d+x real time)",
            "stop": r"^stopping after tick \d+",
            "inject": r"^accepted: ",
        }.get(k)
        if not expected:
            check(False, f"{point}: {cmd}: not covered by this test (add what it prints to {__file__})")
            return
        good = rc == 0 and re.search(expected, out, re.M)
        what = f"prints {expected} (exit 0)"
    check(bool(good), f"{point}: {cmd}: {what}, was exit {rc}") or diag(out)


def start_run(args, point, state_re):
    launcher = start(f"build/services/fleetsim run --quiet {args}")
    up = wait_until(lambda: re.search(state_re, ctl_status(), re.M) or launcher.poll() is not None)
    check(up, f"{point}: a run on the private bus ({args})") or diag(output(launcher))
    return launcher


def finish_run(launcher, point):
    try:
        rc = launcher.wait(timeout=HANG)
    except subprocess.TimeoutExpired:
        os.killpg(launcher.pid, signal.SIGKILL)
        rc = -1
    return rc


def phases(cmds):
    lives = [c for c in cmds if live(c)]
    control = {"pause", "resume", "step", "speed", "stop"}
    plain = [c for c in lives if kind_of(c) not in control]
    steps = [c for c in lives if kind_of(c) in ("step", "speed")]
    # speed max before speed 10: the run must not race to its end at max once resumed
    steps.sort(key=lambda c: (kind_of(c) == "speed" and not c.endswith("max")))
    pick = {k: [c for c in lives if kind_of(c) == k] for k in ("pause", "resume", "stop")}
    for k, found in pick.items():
        check(len(found) == 1, f"the README shows `fleetctl {k}` once ({len(found)})")

    # Before tick 0: the run waits for a participant that never comes.
    run0 = start_run("--participant ghost:observer --out out/before", "before tick 0",
                     r"^state +waiting for participants")
    for c in plain + pick["pause"] + steps + pick["resume"] + pick["stop"]:
        run_live(c, "before tick 0")
    finish_run(run0, "before tick 0")

    # Mid-run, then paused (pause), then running again (resume), then stopped (stop).
    # data-collection: every vehicle drives, so each tick has news for `echo veh.state` (a driverless
    # fleet of 32 waits for riders, and its first change can be minutes in)
    run1 = start_run("--shards 2 --speed 60 --duration 24h --phase data-collection --out out/mid", "mid-run",
                     r"^tick +[1-9]\d* of")
    for c in plain:
        run_live(c, "mid-run")
    run_live(pick["pause"][0], "mid-run")
    for c in plain + pick["pause"] + steps:
        run_live(c, "paused")
    wait_until(lambda: re.search(r"^state +paused", ctl_status(), re.M))  # the steps pause it again
    run_live(pick["resume"][0], "paused")
    run_live(pick["stop"][0], "mid-run")
    rc = finish_run(run1, "mid-run")
    check(rc == 0, f"the run stopped by `fleetctl stop` exits 0 (exit {rc})") or diag(output(run1))

    # After the run ended: nothing answers; play now plays onto the free bus.
    for c in plain + pick["pause"] + steps + pick["resume"] + pick["stop"]:
        run_live(c, "ended")


def main():
    for name in ("build", "examples", "data", "scripts", "proto"):
        os.symlink(BUILD if name == "build" else os.path.join(SRC, name), os.path.join(WORK, name))
    cmds = readme_commands()
    check(len(cmds) >= 30, f"{len(cmds)} commands read from README.md's code blocks")
    once, participant = [], []
    for c in cmds:
        skip = next((why for pat, why in SKIPS if re.search(pat, c)), None)
        if not skip and ("fleet-viz" in c or "--viz" in c) and not os.path.exists(f"{BUILD}/viz/fleet-viz"):
            skip = "this build has no viewer (SDL2, SDL2_ttf, SDL2_image missing)"
        if not skip and os.environ.get("FS_TEST_QUICK") and "--network columbus" in c:
            skip = ("FS_TEST_QUICK: loading Columbus (launcher and viewer) costs ~10 s, more under ASan; "
                    "--viz runs on Atlanta in the viewer's block")
        if skip:
            check(True, f"# SKIP {c}: {skip}")
        elif "participant" in c or "lockstep_participant" in c or c.startswith("protoc "):
            participant.append(c)
        elif live(c):
            pass  # below, at four points of a run
        elif c.startswith(("build/services/fleetsim", "build/services/fleetctl", "build/viz/fleet-viz")):
            once.append(c)
        else:
            check(False, f"{c}: not covered by this test (add how to run it, or why not, to {__file__})")
    for c in once:
        run_once(c)
    if participant:
        run_participant_example(participant)
    phases(cmds)
    print(f"1..{tap_n}")
    if tap_failed and os.environ.get("FS_TEST_KEEP_FAILED"):
        print(f"# logs kept in {WORK}")
    else:
        shutil.rmtree(WORK, ignore_errors=True)
    return 1 if tap_failed else 0


if __name__ == "__main__":
    sys.exit(main())
