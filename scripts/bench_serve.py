#!/usr/bin/env python3
"""Benchmark of the always-on service: idle CPU and memory, scheduler accuracy, a simulated week.

    .venv/bin/python scripts/bench_serve.py                # 120 s idle windows
    .venv/bin/python scripts/bench_serve.py --seconds 30   # quicker

Prints markdown tables. Parts:
1. idle, in-process: ServeCore + the real scheduler on a real SQLite store, silent voice;
2. idle, the real ``voice-coach serve`` process in the virtual room (speaker and microphone open),
   if the room runs and the voice factory exists;
3. accuracy: one-off jobs fire on a real scheduler; lateness = handled minus scheduled time;
4. a simulated week: 20,160 poll ticks (one per 30 s) and memory before and after.
"""

from __future__ import annotations

import argparse
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def proc_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def proc_rss_mb(pid: int) -> float:
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE / 1e6


class SilentSpeaker:
    def say(self, text: str) -> None:
        pass

    def chime(self, kind: str) -> None:
        pass

    def wait_idle(self, timeout: float | None = None) -> bool:
        return True


@dataclass(frozen=True)
class SilentIO:
    speaker: SilentSpeaker
    listener: None
    inbox: queue.Queue


def make_core(db: Path, poll_s: float = 30.0):
    from voice_coach import routines
    from voice_coach.schedule.serve import ServeConfig, ServeCore
    from voice_coach.schedule.store import make_scheduler

    class History:
        def record_missed(self, routine_id, due):
            pass

    scheduler = make_scheduler(db)
    core = ServeCore(scheduler, SilentIO(SilentSpeaker(), None, queue.Queue()), settings=SimpleNamespace(),
                     history=History(), find_routine=routines.find,
                     run_session=lambda *a, **k: SimpleNamespace(reason="finished"),
                     config=ServeConfig(poll_s=poll_s, answer_timeout_s=0.01))
    scheduler.start(paused=True)
    core.attach()
    scheduler.resume()
    return scheduler, core


def idle_in_process(seconds: float, tmp: Path) -> dict:
    from zoneinfo import ZoneInfo

    from voice_coach.schedule.store import ScheduleBook

    db = tmp / "idle.sqlite3"
    with ScheduleBook(db) as book:  # a realistic store: two daily sessions, one far-off ice plan
        from datetime import time as clock

        book.add_session("evening-back-relief", clock(20, 0), zone=ZoneInfo("Europe/Berlin"))
        book.add_session("foam-roller", clock(7, 30), zone=ZoneInfo("Europe/Berlin"), days=("sat", "sun"))
    scheduler, core = make_core(db)
    thread = threading.Thread(target=core.run, daemon=True)
    thread.start()
    pid = os.getpid()
    time.sleep(1.0)
    cpu0, wall0, rss0 = proc_cpu_s(pid), time.monotonic(), proc_rss_mb(pid)
    time.sleep(seconds)
    cpu1, wall1, rss1 = proc_cpu_s(pid), time.monotonic(), proc_rss_mb(pid)
    core.stop()
    thread.join(5)
    scheduler.shutdown(wait=False)
    return {"cpu_pct": 100 * (cpu1 - cpu0) / (wall1 - wall0), "rss0": rss0, "rss1": rss1, "threads": threading.active_count()}


NOISES = {"silent room": None, "fan (pink noise, -40 dBFS)": ("pink", -40.0),
          "massager motor (hum, -30 dBFS)": ("hum", -30.0)}


def _noise_wav(kind: str, dbfs: float, seconds: float, path: Path) -> Path:
    import numpy as np

    sys.path.insert(0, str(ROOT / "scripts"))
    sys.path.insert(0, str(ROOT / "tests" / "room"))
    import roomkit
    from make_corpus import noise

    x = noise(kind, int(16000 * seconds), np.random.default_rng(9)) * 10 ** (dbfs / 20)
    return roomkit.write_wav(path, np.clip(x, -1, 1), 16000)


def idle_process(seconds: float, tmp: Path, noise: tuple[str, float] | None = None) -> dict | str:
    script = ROOT / "scripts" / "virtual-room"
    if subprocess.run([str(script), "status"], capture_output=True).returncode != 0:
        return "skipped: the virtual room is not running (scripts/virtual-room start)"
    try:
        import voice_coach.factory  # noqa: F401
    except ImportError:
        return "skipped: voice_coach.factory (the voice I/O) is not there yet"
    env = os.environ.copy()
    for line in subprocess.run([str(script), "env"], capture_output=True, text=True).stdout.splitlines():
        if line.startswith("export "):
            key, _, value = line[7:].partition("=")
            env[key] = value.strip("'\"")
    for var, sub in (("XDG_DATA_HOME", "data"), ("XDG_CONFIG_HOME", "config"), ("XDG_CACHE_HOME", "cache")):
        env.setdefault(var, str(tmp / sub))
    log = tmp / f"serve-{noise[0] if noise else 'silent'}.log"
    with log.open("w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "voice_coach", "-v", "serve"], env=env,
                                stdout=subprocess.DEVNULL, stderr=err)
    player = None
    try:
        deadline = time.monotonic() + 60
        while "serving" not in log.read_text() and time.monotonic() < deadline:
            if proc.poll() is not None:
                return f"serve exited ({proc.returncode}): {log.read_text()[-300:]}"
            time.sleep(0.2)
        time.sleep(3.0)  # let model loading settle
        if noise:  # steady noise in the room for the whole window (a fan, a massager left running)
            wav = _noise_wav(noise[0], noise[1], seconds + 15, tmp / f"{noise[0]}.wav")
            player = subprocess.Popen(["paplay", str(wav)], env=env)
            time.sleep(5.0)  # the floor settles on it
        cpu0, wall0, rss0 = proc_cpu_s(proc.pid), time.monotonic(), proc_rss_mb(proc.pid)
        samples = [rss0]
        end = wall0 + seconds
        while time.monotonic() < end:
            time.sleep(min(10.0, max(0.0, end - time.monotonic())))
            samples.append(proc_rss_mb(proc.pid))
        cpu1, wall1 = proc_cpu_s(proc.pid), time.monotonic()
        proc.terminate()
        proc.wait(20)
        import re

        found = re.findall(r"listened (\d+) s and decoded (\d+) utterances", log.read_text())
        listened, decoded = (float(found[-1][0]), int(found[-1][1])) if found else (float("nan"), -1)
        return {"cpu_pct": 100 * (cpu1 - cpu0) / (wall1 - wall0), "rss0": rss0, "rss1": samples[-1],
                "rss_max": max(samples), "decodes_per_min": 60 * decoded / listened if decoded >= 0 else None}
    finally:
        if player is not None:
            player.terminate()
        if proc.poll() is None:
            proc.terminate()
            proc.wait(20)


def accuracy(count: int, tmp: Path) -> dict:
    from apscheduler.triggers.date import DateTrigger

    from voice_coach.schedule.jobs import REMIND_REF

    scheduler, core = make_core(tmp / "accuracy.sqlite3", poll_s=30.0)
    lateness: list[float] = []
    handled = core.handle

    def timed(item):
        lateness.append((datetime.now(timezone.utc) - item.due).total_seconds())
        handled(item)

    core.handle = timed
    start = datetime.now(timezone.utc) + timedelta(seconds=1)
    for i in range(count):
        scheduler.add_job(REMIND_REF, DateTrigger(run_date=start + timedelta(seconds=0.5 * i)),
                          kwargs={"kind": "noop", "tz": "UTC"})
    core.run_pending(timeout=3.0, limit=count)
    scheduler.shutdown(wait=False)
    ms = sorted(x * 1000 for x in lateness)
    return {"n": len(ms), "median": statistics.median(ms), "p95": ms[int(0.95 * (len(ms) - 1))], "max": ms[-1]}


def simulated_week(tmp: Path) -> dict:
    from zoneinfo import ZoneInfo

    from voice_coach.schedule.store import ScheduleBook

    db = tmp / "week.sqlite3"
    with ScheduleBook(db) as book:
        from datetime import time as clock

        book.add_session("evening-back-relief", clock(20, 0), zone=ZoneInfo("UTC"))
    scheduler, core = make_core(db)
    pid = os.getpid()
    for _ in range(500):  # warm up caches before measuring
        core.tick()
    rss0 = proc_rss_mb(pid)
    tracemalloc.start()
    snap0 = tracemalloc.take_snapshot()
    t0 = time.monotonic()
    ticks = 7 * 24 * 120  # one tick per 30 s for a week
    for i in range(ticks):
        core.io.inbox.put(SimpleNamespace(command=None, text="tv noise"))  # things heard while idle
        core.tick()
    elapsed = time.monotonic() - t0
    growth = sum(s.size_diff for s in tracemalloc.take_snapshot().compare_to(snap0, "filename"))
    tracemalloc.stop()
    rss1 = proc_rss_mb(pid)
    scheduler.shutdown(wait=False)
    return {"ticks": ticks, "s": elapsed, "per_tick_ms": 1000 * elapsed / ticks, "rss0": rss0, "rss1": rss1,
            "py_growth_kb": growth / 1024}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=120.0, help="length of each idle window")
    parser.add_argument("--jobs", type=int, default=20, help="one-off jobs for the accuracy run")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    import logging

    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        for var, sub in (("XDG_DATA_HOME", "data"), ("XDG_CONFIG_HOME", "config"), ("XDG_CACHE_HOME", "cache")):
            os.environ[var] = str(tmp / sub)
        print(f"# bench_serve ({os.cpu_count()} cores, idle windows {args.seconds:.0f} s)\n")
        inproc = idle_in_process(args.seconds, tmp)
        print("| idle | CPU (% of one core) | RSS start (MB) | RSS end (MB) | decodes per minute | note |")
        print("|---|---|---|---|---|---|")
        print(f"| ServeCore + scheduler + SQLite, silent voice (in-process) | {inproc['cpu_pct']:.3f} | "
              f"{inproc['rss0']:.1f} | {inproc['rss1']:.1f} | - | poll every 30 s |")
        for name, noise in NOISES.items():
            proc = idle_process(args.seconds, tmp, noise)
            if isinstance(proc, dict):
                dpm = "?" if proc["decodes_per_min"] is None else f"{proc['decodes_per_min']:.1f}"
                print(f"| `voice-coach serve` in the virtual room, {name} | {proc['cpu_pct']:.3f} | "
                      f"{proc['rss0']:.1f} | {proc['rss1']:.1f} | {dpm} | max {proc['rss_max']:.1f} MB |", flush=True)
            else:
                print(f"| `voice-coach serve` in the virtual room, {name} | - | - | - | - | {proc} |")
        acc = accuracy(args.jobs, tmp)
        print("\n| scheduler accuracy | jobs | median late (ms) | p95 (ms) | max (ms) |")
        print("|---|---|---|---|---|")
        print(f"| one-off jobs, real SQLite store, handled by ServeCore | {acc['n']} | {acc['median']:.1f} | "
              f"{acc['p95']:.1f} | {acc['max']:.1f} |")
        week = simulated_week(tmp)
        print("\n| simulated week | ticks | time (s) | per tick (ms) | RSS before (MB) | RSS after (MB) | Python heap growth (KB) |")
        print("|---|---|---|---|---|---|---|")
        print(f"| store re-read + inbox drain every 30 s | {week['ticks']} | {week['s']:.1f} | {week['per_tick_ms']:.2f} | "
              f"{week['rss0']:.1f} | {week['rss1']:.1f} | {week['py_growth_kb']:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
