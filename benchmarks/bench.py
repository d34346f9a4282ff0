"""Hushbox benchmarks: the device path against the original Raspberry Pi cry detector's
scheme, and the live loop (``hushbox listen``) through real alsa-lib.

Run ``make bench`` (or ``.venv/bin/python benchmarks/bench.py --out build/bench.json``);
``--quick`` for a short smoke run. Every measurement runs in its own subprocess pinned to
one core (``os.sched_setaffinity(0, {0})``) with one BLAS/OpenMP thread; timings are
medians of several repeats, and ratios are against a baseline measured in the same run.

Measured:

* device path: real-time factor (CPU seconds per second of audio) of
  ``WindowScorer.push`` over a long real stream in 1024-sample chunks, the latency of
  the push that completes a window, import + model-load time and peak RSS in a fresh
  process;
* baseline (the original Raspberry Pi cry detector's scheme): librosa mean ZCR, RMS,
  13 MFCC, spectral centroid, roll-off (0.90) and bandwidth (frame 2048, hop 512) over
  5-s windows at 44.1 kHz, five windows at a 1-s hop per 9-s recording, then
  StandardScaler + SVC (rbf) fitted on real windows; the same figures;
* live loop: CPU share per second of audio (difference of a long and a short run, so
  start-up cost cancels), peak RSS, an accelerated soak over >= 1 hour of audio (RSS
  over audio time, as a figure), and the delay from cry start to the first lullaby
  sample in audio time on real cry recordings.

Progress goes to stderr; the table to stdout; figures to ``--out`` (JSON) and a PNG
beside it. librosa is a benchmark-only dependency.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("SHARED_DATA_DIR", REPO.parent / "shared" / "data"))
CRY_RECORDING = REPO / "tests" / "data" / "cry_in_room.wav"
CRY_SPAN_SECONDS = (6.0, 11.0)  # where the cry lies in CRY_RECORDING (tests/conftest.py)
QUIET_RECORDING = REPO / "tests" / "data" / "no_cry_room.wav"
MINI_DATA = REPO / "tests" / "data" / "mini"
SYSTEM_ALSA_CONF = "/usr/share/alsa/alsa.conf"

RATE = 16_000
CHUNK_SAMPLES = 1024  # 64 ms, the live capture period
BASELINE_RATE = 44_100
BASELINE_FRAME = 2048
BASELINE_HOP = 512
BASELINE_WINDOW_SECONDS = 5
BASELINE_WINDOW_HOP_SECONDS = 1
BASELINE_WINDOWS_PER_RECORDING = 5
BASELINE_RECORDING_SECONDS = 9
BASELINE_REFERENCE_RTF = 0.04  # the issue's figure for the original on one core

SEED = 20_261_126
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
DELAY_PREFIX_SECONDS = 3.0
DELAY_MATCH_SLACK_SECONDS = 1.5  # a window ending this long after the cry still holds cry
SOAK_WARMUP_FRACTION = 0.1  # RSS growth is judged from this share of the soak on

GOALS = {
    # key: (json figure, comparison, limit, description)
    "speedup": ("speedup", ">=", 20.0, "device >= 20x faster than the baseline"),
    "device_rtf": ("device_rtf", "<=", 0.002, "device RTF <= 0.002 on one core"),
    "device_rss": ("device_rss_mb", "<=", 80.0, "device-path peak RSS <= 80 MB"),
    "listen_cpu": ("listen_cpu_percent_of_core", "<=", 0.5,
                   "live loop <= 0.5 % of a core"),
    "listen_rss": ("listen_peak_rss_mb", "<=", 80.0, "hushbox listen peak RSS <= 80 MB"),
    "delay": ("cry_to_lullaby_delay_median_seconds", "<=", 3.0,
              "median cry-to-lullaby delay <= 3 s"),
    "soak_flat": ("soak_rss_growth_mb", "<=", 1.0,
                  "soak: peak RSS grows <= 1 MiB after 10 % of it"),
}


# ---------------------------------------------------------------- helpers (stdlib only)

def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def pin_to_one_core() -> None:
    os.sched_setaffinity(0, {0})


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    for name in THREAD_VARIABLES:
        env[name] = "1"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    env.update(extra)
    return env


def run_python(code_or_args: list[str], *, env: dict[str, str] | None = None,
               timeout: float = 900.0, retries: int = 3) -> dict:
    """Run Python pinned to one core; its last stdout line is a JSON object."""
    last_error = ""
    for attempt in range(retries):
        proc = subprocess.run([sys.executable, *code_or_args], env=env or child_env(),
                              capture_output=True, text=True, timeout=timeout, cwd=REPO,
                              preexec_fn=pin_to_one_core)
        if proc.returncode == 0 and proc.stdout.strip():
            return json.loads(proc.stdout.strip().splitlines()[-1])
        last_error = (proc.stderr or proc.stdout).strip()[-2000:]
        log(f"subprocess failed (attempt {attempt + 1}/{retries}): {last_error[-300:]}")
        time.sleep(5.0)  # e.g. the model is being rewritten by a training run
    raise RuntimeError(f"subprocess failed: {last_error}")


def worker(name: str, params: dict, **kwargs) -> dict:
    return run_python([str(Path(__file__).resolve()), "--worker", name,
                       "--params", json.dumps(params)], **kwargs)


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return float(ordered[low] + (ordered[high] - ordered[low]) * (position - low))


def shared_rows() -> list[dict[str, str]]:
    metadata = SHARED_DATA / "metadata.csv"
    if not metadata.is_file():
        return []
    with open(metadata, newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if (SHARED_DATA / r["path"]).is_file()]
    return sorted(rows, key=lambda r: r["path"])


def sample_rows(rows: list[dict[str, str]], label: str | None, k: int,
                seed: int) -> list[dict[str, str]]:
    pool = [r for r in rows if label is None or r["label"] == label]
    return random.Random(seed).sample(pool, min(k, len(pool)))


def model_settings(model_path: str | None) -> dict[str, str]:
    return {"HUSHBOX_MODEL_PATH": model_path} if model_path else {}


# ---------------------------------------------------------------- workers (measured)

def load_model_retry(path: str | None):
    from appliance.errors import ModelError
    from appliance.model import DEFAULT_MODEL_PATH, load_model

    for attempt in range(30):
        try:
            return load_model(Path(path) if path else DEFAULT_MODEL_PATH)
        except ModelError:
            if attempt == 29:
                raise
            time.sleep(2.0)  # the shipped model may be mid-rewrite by a training run
    raise AssertionError("unreachable")


def worker_device_rtf(p: dict) -> dict:
    """Device RTF over a long real stream in 1024-sample chunks, and per-window latency."""
    import numpy as np

    from appliance.detector import WindowScorer

    model = load_model_retry(p["model"])
    stream = np.load(p["stream"])
    audio_seconds = len(stream) / RATE
    scorer = WindowScorer(model)

    def feed() -> int:
        scorer.reset()
        windows = 0
        for start in range(0, len(stream), CHUNK_SAMPLES):
            windows += len(scorer.push(stream[start: start + CHUNK_SAMPLES]))
        return windows

    feed()  # warm-up
    cpu_rtf, wall_rtf = [], []
    windows = 0
    for _ in range(p["repeats"]):
        c0, w0 = time.process_time(), time.perf_counter()
        windows = feed()
        cpu_rtf.append((time.process_time() - c0) / audio_seconds)
        wall_rtf.append((time.perf_counter() - w0) / audio_seconds)

    # Latency: after a primer, each push of one hop (0.5 s) completes exactly one window.
    cfg = model.feature_config
    hop, span = cfg.window_hop_samples, cfg.window_samples
    latency_wall, latency_cpu = [], []
    for _ in range(p["repeats"]):
        scorer.reset()
        scorer.push(stream[: span - hop])
        for start in range(span - hop, len(stream) - hop + 1, hop):
            piece = stream[start: start + hop]
            c0, w0 = time.process_time(), time.perf_counter()
            done = scorer.push(piece)
            latency_wall.append(time.perf_counter() - w0)
            latency_cpu.append(time.process_time() - c0)
            assert len(done) == 1, len(done)

    # The model's share: predict_proba alone on one window's features, many times.
    from appliance.stream import FeatureStream

    features, _ = FeatureStream(config=cfg).push(stream[: 20 * RATE])
    one = features[:1]
    reps = 2000
    c0 = time.process_time()
    for _ in range(reps):
        model.predict_proba(one)
    predict_ms = (time.process_time() - c0) / reps * 1e3
    return {
        "device_rtf": median(cpu_rtf), "device_rtf_runs": cpu_rtf,
        "device_wall_rtf": median(wall_rtf),
        "device_stream_seconds": audio_seconds, "device_windows_per_run": windows,
        "device_window_latency_ms": median(latency_wall) * 1e3,
        "device_window_latency_cpu_ms": median(latency_cpu) * 1e3,
        "device_window_latency_p90_ms": percentile(latency_wall, 0.9) * 1e3,
        # the same work fed in 0.5-s pieces instead of 64-ms ones: per-call overhead
        "device_rtf_half_second_chunks": median(latency_cpu) / (hop / RATE),
        "device_model_predict_ms_per_window": predict_ms,
    }


def baseline_window_features(y, sr: int):
    """The original Raspberry Pi cry detector's features of one window (18 numbers)."""
    import librosa
    import numpy as np

    kw = {"n_fft": BASELINE_FRAME, "hop_length": BASELINE_HOP}
    zcr = librosa.feature.zero_crossing_rate(y, frame_length=BASELINE_FRAME,
                                             hop_length=BASELINE_HOP)
    rms = librosa.feature.rms(y=y, frame_length=BASELINE_FRAME, hop_length=BASELINE_HOP)
    mfcc = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=13, **kw)
    centroid = librosa.feature.spectral_centroid(y=y, sr=sr, **kw)
    rolloff = librosa.feature.spectral_rolloff(y=y, sr=sr, roll_percent=0.90, **kw)
    bandwidth = librosa.feature.spectral_bandwidth(y=y, sr=sr, **kw)
    return np.hstack([zcr.mean(), rms.mean(), mfcc.mean(axis=1), centroid.mean(),
                      rolloff.mean(), bandwidth.mean()])


def baseline_recording(pipeline, recording, sr: int = BASELINE_RATE):
    """One 9-s recording: five 5-s windows at a 1-s hop -> features -> SVC predictions."""
    import numpy as np

    n = BASELINE_WINDOW_SECONDS * sr
    windows = [recording[i * BASELINE_WINDOW_HOP_SECONDS * sr:
                         i * BASELINE_WINDOW_HOP_SECONDS * sr + n]
               for i in range(BASELINE_WINDOWS_PER_RECORDING)]
    features = np.vstack([baseline_window_features(w, sr) for w in windows])
    return pipeline.predict(features)


def worker_baseline_fit(p: dict) -> dict:
    """Fit StandardScaler + SVC on baseline features of real 5-s windows at 44.1 kHz."""
    import pickle

    import numpy as np
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    from appliance.audio_io import read_audio, resample

    n = BASELINE_WINDOW_SECONDS * BASELINE_RATE
    x, y = [], []
    for path, label in p["clips"]:
        audio = resample(read_audio(Path(path)), from_hz=RATE, to_hz=BASELINE_RATE)
        if len(audio) < n:
            audio = np.tile(audio, int(np.ceil(n / len(audio))))
        x.append(baseline_window_features(audio[:n], BASELINE_RATE))
        y.append(int(label == "cry"))
    pipeline = make_pipeline(StandardScaler(), SVC())
    pipeline.fit(np.vstack(x), np.array(y))
    with open(p["out"], "wb") as handle:
        pickle.dump(pipeline, handle)
    return {"baseline_train_windows": len(y), "baseline_train_cry": int(sum(y)),
            "baseline_support_vectors": int(pipeline[-1].support_vectors_.shape[0])}


def worker_baseline_rtf(p: dict) -> dict:
    import pickle

    import numpy as np

    with open(p["pipeline"], "rb") as handle:
        pipeline = pickle.load(handle)
    recordings = list(np.load(p["recordings"]))
    baseline_recording(pipeline, recordings[0])  # warm-up (numba compiles on first use)
    audio_seconds = BASELINE_RECORDING_SECONDS * len(recordings)
    cpu_rtf, wall_rtf = [], []
    for _ in range(p["repeats"]):
        c0, w0 = time.process_time(), time.perf_counter()
        for recording in recordings:
            baseline_recording(pipeline, recording)
        cpu_rtf.append((time.process_time() - c0) / audio_seconds)
        wall_rtf.append((time.perf_counter() - w0) / audio_seconds)
    latency = []
    n = BASELINE_WINDOW_SECONDS * BASELINE_RATE
    for _ in range(p["repeats"]):
        for recording in recordings:
            w0 = time.perf_counter()
            pipeline.predict(baseline_window_features(recording[:n], BASELINE_RATE)[None, :])
            latency.append(time.perf_counter() - w0)
    return {"baseline_rtf": median(cpu_rtf), "baseline_rtf_runs": cpu_rtf,
            "baseline_window_latency_ms": median(latency) * 1e3,
            "baseline_wall_rtf": median(wall_rtf),
            "baseline_recordings": len(recordings)}


WORKERS = {
    "device-rtf": worker_device_rtf,
    "baseline-fit": worker_baseline_fit,
    "baseline-rtf": worker_baseline_rtf,
}

# Fresh-process probes: the clock starts at the first statement, before any import.
DEVICE_PROBE = """
import time; t0 = time.perf_counter()
import json, resource, sys
def hwm_mb():  # this process's own peak RSS (ru_maxrss would include the launcher's)
    return int(next(x.split()[1] for x in open("/proc/self/status")
                    if x.startswith("VmHWM:"))) / 1024
from appliance.detector import WindowScorer
from appliance.model import DEFAULT_MODEL_PATH, load_model
model = load_model(sys.argv[1] or DEFAULT_MODEL_PATH)
t_import = time.perf_counter() - t0
rss_import = hwm_mb()
import numpy as np
from appliance.audio_io import read_audio
audio = np.concatenate([read_audio(p) for p in sys.argv[2:]])
scorer = WindowScorer(model)
n, t_first = 0, None
for i in range(0, len(audio), 1024):
    n += len(scorer.push(audio[i:i + 1024]))
    if n and t_first is None:
        t_first = time.perf_counter() - t0
print(json.dumps({"import_seconds": t_import, "windows": n, "rss_after_import_mb": rss_import,
                  "first_window_seconds": t_first,
                  "rss_mb": hwm_mb(),
                  "ru_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

BASELINE_PROBE = """
import time; t0 = time.perf_counter()
import json, pickle, resource, sys
def hwm_mb():  # this process's own peak RSS (ru_maxrss would include the launcher's)
    return int(next(x.split()[1] for x in open("/proc/self/status")
                    if x.startswith("VmHWM:"))) / 1024
import librosa, librosa.feature
import sklearn.pipeline, sklearn.preprocessing, sklearn.svm
import numpy as np
with open(sys.argv[1], "rb") as f:
    pipeline = pickle.load(f)
t_import = time.perf_counter() - t0
rss_import = hwm_mb()
sys.path.insert(0, sys.argv[2])
from bench import baseline_recording
audio = np.concatenate([librosa.load(p, sr=44100)[0] for p in sys.argv[3:]])
n = 9 * 44100
baseline_recording(pipeline, audio[:n])
t_first = time.perf_counter() - t0
preds = [baseline_recording(pipeline, audio[i:i + n]) for i in range(n, len(audio) - n + 1, n)]
print(json.dumps({"import_seconds": t_import, "recordings": 1 + len(preds),
                  "first_window_seconds": t_first,
                  "rss_after_import_mb": rss_import,
                  "rss_mb": hwm_mb(),
                  "ru_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


# ---------------------------------------------------------------- hushbox listen

# ``hushbox`` as its console script runs it, plus this process's own peak RSS (VmHWM) on
# stderr at exit, measured independently of the service's own peak_rss_mb.
LISTEN_WRAPPER = """
import atexit, sys
def report():
    hwm = next(x.split()[1] for x in open("/proc/self/status") if x.startswith("VmHWM:"))
    sys.stderr.write(f"bench_vmhwm_kb={hwm}\\n")
atexit.register(report)
from appliance.cli import main
sys.exit(main(sys.argv[1:]))
"""


def write_raw(path: Path, samples) -> Path:
    from appliance.audio_io import to_int16

    to_int16(samples).astype("<i2").tofile(path)
    return path


def run_listen(folder: Path, name: str, infile: Path, seconds: float, *,
               settings: dict[str, str], timeout: float = 1800.0,
               sample_rss: bool = False) -> dict:
    """``hushbox listen`` on one core, capture from ``infile`` through alsa-lib's file
    plugin; returns its log events, CPU time (wait4) and, optionally, sampled RSS."""
    conf = folder / f"asound-{name}.conf"
    conf.write_text(f'pcm.mic {{ type file; slave.pcm "null"; file "/dev/null"; '
                    f'infile "{infile}"; format "raw" }}\n')
    env = child_env(ALSA_CONFIG_PATH=f"{SYSTEM_ALSA_CONF}:{conf}", **settings)
    cmd = [sys.executable, "-c", LISTEN_WRAPPER, "listen", "--capture-device", "plug:mic",
           "--playback-device", "null", "--stop-after-seconds", f"{seconds:.3f}"]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=pin_to_one_core)
    lines: list[tuple[float, str]] = []
    errors: list[str] = []

    def read_out() -> None:
        for line in proc.stdout:
            lines.append((time.perf_counter() - start, line.rstrip("\n")))

    def read_err() -> None:
        errors.extend(proc.stderr)

    readers = [threading.Thread(target=read_out, daemon=True),
               threading.Thread(target=read_err, daemon=True)]
    for reader in readers:
        reader.start()
    samples: list[tuple[float, float, float]] = []  # (wall s, VmRSS MiB, VmHWM MiB)
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() - start > timeout:
            proc.kill()
            pid, status, usage = os.wait4(proc.pid, 0)
            break
        if sample_rss:
            vm = _proc_status(proc.pid)
            if vm:
                samples.append((time.perf_counter() - start, *vm))
        time.sleep(0.05 if sample_rss else 0.02)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    for reader in readers:
        reader.join(timeout=10)
    stderr = "".join(errors)
    hwm = [int(x.split("=", 1)[1]) / 1024 for x in stderr.split() if x.startswith("bench_vmhwm")]
    result = {"returncode": proc.returncode, "wall_seconds": wall,
              "peak_rss_mb": hwm[-1] if hwm else None,
              "cpu_seconds": usage.ru_utime + usage.ru_stime,
              "child_maxrss_mb": usage.ru_maxrss / 1024, "lines": lines,
              "stderr": stderr[-2000:], "rss_samples": samples}
    if proc.returncode != 0 or not events(lines, "stopped"):
        raise RuntimeError(f"hushbox listen ({name}) failed with status {proc.returncode}: "
                           f"{result['stderr'][-800:]} / {[t for _, t in lines[-5:]]}")
    return result


def _proc_status(pid: int) -> tuple[float, float] | None:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    try:
        return (int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024)
    except (KeyError, ValueError):
        return None


def events(lines: list[tuple[float, str]], name: str) -> list[dict]:
    """Fields of every log line whose event word is ``name`` (plus ``_wall`` arrival)."""
    found = []
    for wall, line in lines:
        parts = line.split()
        if len(parts) >= 4 and parts[1] == "hushbox" and parts[3] == name:
            fields = dict(p.split("=", 1) for p in parts[4:] if "=" in p)
            fields["_wall"] = wall
            found.append(fields)
    return found


# ---------------------------------------------------------------- orchestration

def real_stream_base(quick: bool):
    """Real audio to loop: the bundled recordings and, when present, shared-data clips."""
    import numpy as np

    from appliance.audio_io import read_audio

    parts = [read_audio(CRY_RECORDING), read_audio(QUIET_RECORDING)]
    names = [CRY_RECORDING.name, QUIET_RECORDING.name]
    for row in sample_rows(shared_rows(), None, 12 if quick else 40, SEED):
        parts.append(read_audio(SHARED_DATA / row["path"]))
        names.append(row["path"])
    return np.concatenate(parts).astype(np.float32), names


def looped(base, seconds: float):
    import numpy as np

    n = int(round(seconds * RATE))
    return np.tile(base, int(np.ceil(n / len(base))))[:n]


def code_fingerprint() -> str:
    """SHA-256 over appliance/*.py: the bench notes when the code changed while it ran."""
    import hashlib

    digest = hashlib.sha256()
    for path in sorted((REPO / "appliance").glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def machine_info() -> dict:
    import numpy
    import scipy

    info = {"cpu_model": "?", "cores": os.cpu_count(), "python": platform.python_version(),
            "numpy": numpy.__version__, "scipy": scipy.__version__,
            "platform": platform.platform(),
            "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE", ""),
            "loadavg_at_start": Path("/proc/loadavg").read_text().split()[:3]}
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            info["cpu_model"] = line.split(":", 1)[1].strip()
            break
    for module in ("librosa", "sklearn"):
        try:
            info[module] = __import__(module).__version__
        except ImportError:
            info[module] = None
    return info


def bench_detector(args, tmp: Path, base, results: dict) -> None:
    import numpy as np

    from appliance.audio_io import resample

    repeats = args.repeats
    stream_path = tmp / "stream.npy"
    np.save(stream_path, looped(base, 60.0 if args.quick else 300.0))

    # Baseline recordings: consecutive 9-s pieces of the same real audio, at 44.1 kHz.
    n9 = BASELINE_RECORDING_SECONDS * RATE
    count = 2 if args.quick else 6
    pieces = [resample(base[i * n9: (i + 1) * n9], from_hz=RATE, to_hz=BASELINE_RATE)
              for i in range(count)]
    length = BASELINE_RECORDING_SECONDS * BASELINE_RATE
    recordings_path = tmp / "recordings.npy"
    np.save(recordings_path, np.stack([np.resize(p, length) for p in pieces]))

    # Baseline training windows: real clips (mini set, plus shared data when present).
    clips = []
    with open(MINI_DATA / "metadata.csv", newline="") as handle:
        clips += [(str(MINI_DATA / r["path"]), r["label"]) for r in csv.DictReader(handle)]
    rows = shared_rows()
    per_label = 20 if args.quick else 120
    for label in ("cry", "other"):
        clips += [(str(SHARED_DATA / r["path"]), r["label"])
                  for r in sample_rows(rows, label, per_label, SEED + 1)]
    pipeline_path = tmp / "baseline-svc.pkl"
    log(f"baseline: fitting StandardScaler+SVC on {len(clips)} real 5-s windows")
    results.update(worker("baseline-fit", {"clips": clips, "out": str(pipeline_path)}))

    log(f"device RTF and latency ({repeats} repeats)")
    results.update(worker("device-rtf", {"model": args.model, "stream": str(stream_path),
                                         "repeats": repeats}))
    log(f"baseline RTF ({repeats} repeats of {count} recordings)")
    results.update(worker("baseline-rtf", {"pipeline": str(pipeline_path),
                                           "recordings": str(recordings_path),
                                           "repeats": repeats}))
    results["speedup"] = results["baseline_rtf"] / results["device_rtf"]

    log(f"import time and peak RSS in fresh processes ({repeats} each)")
    recordings = [str(CRY_RECORDING), str(QUIET_RECORDING)]
    device = [run_python(["-c", DEVICE_PROBE, args.model or "", *recordings])
              for _ in range(repeats)]
    baseline = [run_python(["-c", BASELINE_PROBE, str(pipeline_path),
                            str(Path(__file__).resolve().parent), *recordings])
                for _ in range(repeats)]
    results["device_import_seconds"] = median([d["import_seconds"] for d in device])
    results["device_rss_mb"] = median([d["rss_mb"] for d in device])
    results["baseline_import_seconds"] = median([b["import_seconds"] for b in baseline])
    results["baseline_rss_mb"] = median([b["rss_mb"] for b in baseline])
    results["device_first_window_seconds"] = median([d["first_window_seconds"]
                                                     for d in device])
    results["baseline_first_window_seconds"] = median([b["first_window_seconds"]
                                                       for b in baseline])
    results["device_rss_after_import_mb"] = median([d["rss_after_import_mb"] for d in device])
    results["baseline_rss_after_import_mb"] = median([b["rss_after_import_mb"]
                                                      for b in baseline])


def bench_listen_cpu(args, tmp: Path, base, results: dict) -> None:
    n1, n2 = (20.0, 120.0) if args.quick else (60.0, 600.0)
    short = write_raw(tmp / "cpu-short.raw", looped(base, n1))
    long = write_raw(tmp / "cpu-long.raw", looped(base, n2))
    settings = model_settings(args.model)
    cpu1, cpu2, peaks, walls, reported = [], [], [], [], []
    for i in range(args.repeats):
        log(f"listen CPU: run {i + 1}/{args.repeats} ({n1:g} s and {n2:g} s of audio)")
        a = run_listen(tmp, f"short{i}", short, n1, settings=settings)
        b = run_listen(tmp, f"long{i}", long, n2, settings=settings)
        cpu1.append(a["cpu_seconds"])
        cpu2.append(b["cpu_seconds"])
        walls.append(b["wall_seconds"])
        peaks.append(b["peak_rss_mb"])
        reported.append(float(events(b["lines"], "stopped")[-1]["rss_mb"]))
    slope = (median(cpu2) - median(cpu1)) / (n2 - n1)
    results["listen_cpu_percent_of_core"] = 100.0 * slope
    results["listen_startup_cpu_seconds"] = median(cpu1) - slope * n1
    results["listen_cpu_runs_seconds"] = {"short": cpu1, "long": cpu2,
                                          "short_audio_seconds": n1, "long_audio_seconds": n2}
    results["listen_long_run_wall_seconds"] = median(walls)
    results["listen_peak_rss_mb"] = median(peaks)
    results["listen_reported_rss_mb"] = median(reported)  # the stopped line's ru_maxrss
    for key in ("short", "long"):
        (tmp / f"cpu-{key}.raw").unlink()


def bench_soak(args, tmp: Path, base, results: dict, figure: Path) -> None:
    """>= 1 hour of real audio through ``hushbox listen`` (unpaced, so it takes about a
    minute); the process's RSS is sampled from /proc and placed in audio time by the
    heartbeats' (wall, audio_seconds) pairs."""
    import numpy as np

    seconds = 600.0 if args.quick else 3600.0
    infile = write_raw(tmp / "soak.raw", looped(base, seconds))
    log(f"soak: {seconds:g} s of audio ({infile.stat().st_size / 2**20:.0f} MiB raw)")
    settings = {**model_settings(args.model), "HUSHBOX_HEARTBEAT_SECONDS": "1"}
    run = run_listen(tmp, "soak", infile, seconds, settings=settings, sample_rss=True)
    infile.unlink()
    beats = [(float(h["audio_seconds"]), h["_wall"]) for h in events(run["lines"], "heartbeat")]
    stopped = events(run["lines"], "stopped")[-1]
    beats.append((float(stopped["audio_seconds"]), stopped["_wall"]))
    opened = events(run["lines"], "capture_open")
    anchor = opened[0]["_wall"] if opened else 0.0  # audio time 0: start-up lies before it
    curve = sorted([(0.0, anchor), *beats], key=lambda b: b[1])
    s = np.array(run["rss_samples"])  # (wall, VmRSS, VmHWM)
    audio = np.interp(s[:, 0], [b[1] for b in curve], [b[0] for b in curve])
    first = s[s[:, 0] >= beats[0][1]][:1] if len(beats) > 1 else s[:1]
    first = first if len(first) else s[-1:]
    warm = s[audio >= SOAK_WARMUP_FRACTION * seconds][:1]
    warm = warm if len(warm) else s[-1:]
    early = s[(audio >= 0.1 * seconds) & (audio <= 0.3 * seconds), 1]
    late = s[audio >= 0.8 * seconds, 1]
    peak = run["peak_rss_mb"] or float(s[-1, 2])
    results.update({
        "soak_audio_hours": float(stopped["audio_seconds"]) / 3600.0,
        "soak_wall_seconds": run["wall_seconds"],
        "soak_heartbeats": len(beats) - 1,
        "soak_rss_samples": len(s),
        # peak RSS (VmHWM) at the first heartbeat, at the end, and its growth after warm-up
        "soak_rss_first_mb": float(first[0, 2]),
        "soak_rss_last_mb": peak,
        "soak_rss_peak_mb": peak,
        "soak_rss_growth_mb": peak - float(warm[0, 2]),
        # current RSS (VmRSS): at the first heartbeat, the last sample, median late - early
        "soak_current_rss_first_mb": float(first[0, 1]),
        "soak_current_rss_last_mb": float(s[-1, 1]),
        "soak_current_rss_growth_mb": (float(np.median(late) - np.median(early))
                                       if len(early) and len(late) else None),
        "soak_confirmations": int(stopped["confirmations"]),
        "soak_overruns": int(stopped["overruns"]),
        "soak_reported_rss_mb": float(stopped["rss_mb"]),  # the service's own ru_maxrss
        "soak_rss_curve": [[round(float(a), 1), round(float(r), 2), round(float(h), 2)]
                           for a, r, h in zip(audio[::10], s[::10, 1], s[::10, 2],
                                              strict=True)],
    })
    _plot_soak(audio, s, seconds, figure)
    results["soak_figure"] = str(figure)


def _plot_soak(audio, samples, seconds: float, figure: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4))
    ax.plot(audio / 3600.0, samples[:, 1], label="RSS (/proc VmRSS)", lw=1)
    ax.plot(audio / 3600.0, samples[:, 2], label="peak RSS (/proc VmHWM)", lw=1, ls="--")
    ax.axhline(80.0, color="red", lw=0.8, ls=":", label="goal 80 MB")
    ax.set_xlabel("audio time (hours); start-up is drawn at 0")
    ax.set_ylabel("MiB")
    ax.set_ylim(bottom=0)
    ax.set_title(f"hushbox listen: accelerated soak, {seconds / 3600:.2f} h of real audio")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(figure, dpi=100)
    plt.close(fig)


def bench_delay(args, tmp: Path, results: dict) -> None:
    """Real cry recordings in one listen run, far enough apart that each lullaby's hold-off
    (lullaby + mute tail) has passed; delay = confirmation time - cry start, audio time."""
    import numpy as np

    from appliance.audio_io import read_audio
    from appliance.lullaby import lullaby_seconds
    from appliance.settings import Settings

    holdoff = lullaby_seconds("") + Settings().mute_tail_seconds
    gap = holdoff + 5.0
    rows = shared_rows()
    cries = sample_rows(rows, "cry", 8 if args.quick else 30, SEED + 2)
    others = sample_rows(rows, "other", len(cries), SEED + 3)
    prefix_n = int(DELAY_PREFIX_SECONDS * RATE)
    parts, clips = [], []
    position = 0

    def add(audio, cry_start: float, cry_end: float, name: str) -> None:
        nonlocal position
        parts.append(audio)
        clips.append({"clip": name, "start": position / RATE,
                      "cry_start": position / RATE + cry_start,
                      "cry_end": position / RATE + cry_end})
        position += len(audio)

    cry = read_audio(CRY_RECORDING)
    add(np.concatenate([cry, np.zeros(int(gap * RATE), np.float32)]), *CRY_SPAN_SECONDS,
        CRY_RECORDING.name)
    for cry_row, other_row in zip(cries, others, strict=True):
        prefix = read_audio(SHARED_DATA / other_row["path"])[:prefix_n]
        prefix = np.concatenate([prefix, np.zeros(prefix_n - len(prefix), np.float32)])
        clip = read_audio(SHARED_DATA / cry_row["path"])
        audio = np.concatenate([prefix, clip, np.zeros(int(gap * RATE), np.float32)])
        add(audio, DELAY_PREFIX_SECONDS, DELAY_PREFIX_SECONDS + len(clip) / RATE,
            cry_row["path"])
    stream = np.concatenate(parts)
    seconds = len(stream) / RATE
    infile = write_raw(tmp / "delay.raw", stream)
    log(f"delay: {len(clips)} real cry recordings, {seconds:.0f} s of audio in one run")
    settings = {**model_settings(args.model),
                "HUSHBOX_MAX_LULLABIES_PER_EPISODE": "100", "HUSHBOX_COOLDOWN_SECONDS": "0"}
    run = run_listen(tmp, "delay", infile, seconds, settings=settings)
    infile.unlink()
    confirmations = [(float(e["t"]), e.get("action", "")) for e in
                     events(run["lines"], "cry_confirmed")]
    delays, early, missed, not_played = [], 0, [], 0
    for c in clips:
        inside = [(t, a) for t, a in confirmations
                  if c["start"] < t <= c["cry_end"] + DELAY_MATCH_SLACK_SECONDS]
        if any(t <= c["cry_start"] for t, _ in inside):
            early += 1
        hits = [(t, a) for t, a in inside if t > c["cry_start"]]
        if not hits:
            missed.append(c["clip"])
            continue
        t, action = hits[0]
        not_played += action != "play"
        delays.append(t - c["cry_start"])
        c["delay"] = t - c["cry_start"]
    results.update({
        "cry_to_lullaby_delay_median_seconds": median(delays) if delays else None,
        "cry_to_lullaby_delay_p90_seconds": percentile(delays, 0.9) if delays else None,
        "delay_recordings": len(clips),
        "delay_confirmed": len(delays),
        "delay_confirmed_before_cry_start": early,
        "delay_confirmed_without_lullaby": not_played,
        "delay_missed": missed,
        "delay_lullabies_started": len(events(run["lines"], "lullaby_started")),
        "delay_per_recording": [{"clip": c["clip"], "delay": c.get("delay")} for c in clips],
    })


def freeze_model(model, tmp: Path) -> str:
    """Every measurement uses one copy of the model (the shipped one may be retrained while
    the benchmark runs); the copy lives in the temporary folder."""
    from appliance.model import save_model

    return str(save_model(model, tmp / "model" / "hushbox-cry.npz"))


def evaluate_goals(results: dict) -> dict:
    goals = {}
    for name, (key, op, limit, text) in GOALS.items():
        value = results.get(key)
        ok = None if value is None else (value >= limit if op == ">=" else value <= limit)
        goals[name] = {"figure": key, "value": value, "goal": f"{op} {limit:g}",
                       "pass": ok, "description": text}
    return goals


def table(results: dict) -> str:
    def f(key: str, fmt: str = "{:.4g}") -> str:
        value = results.get(key)
        return "n/a" if value is None else fmt.format(value)

    rows = [
        (f"Detector (one core, median of {results['repeats']})", "", ""),
        ("  real-time factor (CPU s / audio s)", f("device_rtf", "{:.5f}"),
         f("baseline_rtf", "{:.4f}")),
        ("  real-time factor, wall clock", f("device_wall_rtf", "{:.5f}"),
         f("baseline_wall_rtf", "{:.4f}")),
        ("  RTF if fed 0.5-s chunks (not 64 ms), CPU", f("device_rtf_half_second_chunks",
                                                        "{:.5f}"), ""),
        ("  speedup (baseline RTF / device RTF)", f("speedup", "{:.1f}x"), ""),
        ("  per-window latency, ms (features + model)", f("device_window_latency_ms", "{:.2f}"),
         f("baseline_window_latency_ms", "{:.1f}")),
        ("  fresh process: start to first result, s", f("device_first_window_seconds", "{:.3f}"),
         f("baseline_first_window_seconds", "{:.3f}")),
        ("  import + model load, s", f("device_import_seconds", "{:.3f}"),
         f("baseline_import_seconds", "{:.3f}")),
        ("  peak RSS (VmHWM), MiB", f("device_rss_mb", "{:.1f}"),
         f("baseline_rss_mb", "{:.1f}")),
        ("Live loop: hushbox listen (one core)", "", ""),
        ("  CPU, % of a core per audio second", f("listen_cpu_percent_of_core", "{:.3f}"), ""),
        ("  start-up CPU, s", f("listen_startup_cpu_seconds", "{:.2f}"), ""),
        ("  peak RSS (VmHWM), MiB", f("listen_peak_rss_mb", "{:.1f}"), ""),
        ("  cry -> lullaby delay, median / p90, s",
         f"{f('cry_to_lullaby_delay_median_seconds', '{:.2f}')} / "
         f"{f('cry_to_lullaby_delay_p90_seconds', '{:.2f}')}", ""),
        ("  cry recordings confirmed",
         f"{results.get('delay_confirmed')}/{results.get('delay_recordings')}", ""),
        ("  soak: audio hours / wall s",
         f"{f('soak_audio_hours', '{:.2f}')} / {f('soak_wall_seconds', '{:.0f}')}", ""),
        ("  soak: peak RSS at first heartbeat / end, MiB",
         f"{f('soak_rss_first_mb', '{:.1f}')} / {f('soak_rss_last_mb', '{:.1f}')}", ""),
        ("  soak: RSS at first heartbeat / end, MiB",
         f"{f('soak_current_rss_first_mb', '{:.1f}')} / "
         f"{f('soak_current_rss_last_mb', '{:.1f}')}", ""),
    ]
    width = max(len(r[0]) for r in rows) + 2
    lines = [f"{'':{width}}{'device':>14}{'baseline':>14}"]
    lines += [f"{a:{width}}{b:>14}{c:>14}" for a, b, c in rows]
    lines.append("")
    lines.append("Goals")
    for g in results["goals"].values():
        mark = {True: "PASS", False: "FAIL", None: "n/a"}[g["pass"]]
        value = "n/a" if g["value"] is None else f"{g['value']:.4g}"
        lines.append(f"  {mark:4}  {g['description']:48} ({g['figure']} = {value})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "build" / "bench.json")
    parser.add_argument("--quick", action="store_true", help="short runs (a smoke test)")
    parser.add_argument("--model", default=None,
                        help="model .npz (default: the shipped models/hushbox-cry.npz)")
    parser.add_argument("--repeats", type=int, default=None, help="repeats per timing")
    parser.add_argument("--skip", action="append", default=[],
                        choices=("detector", "cpu", "soak", "delay"))
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--params", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        pin_to_one_core()
        sys.path.insert(0, str(REPO))
        print(json.dumps(WORKERS[args.worker](json.loads(args.params))))
        return 0

    sys.path.insert(0, str(REPO))
    args.repeats = args.repeats or (3 if args.quick else 5)
    if args.model:
        args.model = str(Path(args.model).resolve())
    started = time.perf_counter()
    results: dict = {"quick": args.quick, "repeats": args.repeats,
                     "machine": machine_info(), "shared_data": shared_rows() != [],
                     "appliance_code_sha256": code_fingerprint(),
                     "model": args.model or "models/hushbox-cry.npz (shipped)"}
    from appliance.errors import ModelError

    try:
        model = load_model_retry(args.model)
    except ModelError as exc:
        print(f"bench: cannot load the model: {exc}", file=sys.stderr)
        return 2
    results["model_card"] = {k: model.card.get(k) for k in ("arrays_sha256", "threshold",
                                                            "created", "classifier")}
    results["baseline_reference_rtf"] = BASELINE_REFERENCE_RTF
    out = args.out if args.out.is_absolute() else Path.cwd() / args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    figure = out.with_name(out.stem + "_soak_rss.png")
    with tempfile.TemporaryDirectory(prefix="hushbox-bench-") as name:
        tmp = Path(name)
        args.model = freeze_model(model, tmp)
        base, names = real_stream_base(args.quick)
        results["real_stream_sources"] = len(names)
        results["real_stream_seconds"] = len(base) / RATE
        if "detector" not in args.skip:
            bench_detector(args, tmp, base, results)
        if "cpu" not in args.skip:
            bench_listen_cpu(args, tmp, base, results)
        if "delay" not in args.skip:
            bench_delay(args, tmp, results)
        if "soak" not in args.skip:
            bench_soak(args, tmp, base, results, figure)
    results["bench_wall_seconds"] = time.perf_counter() - started
    results["appliance_code_sha256_end"] = code_fingerprint()
    results["appliance_code_changed_during_run"] = (results["appliance_code_sha256_end"]
                                                    != results["appliance_code_sha256"])
    results["goals"] = evaluate_goals(results)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))
    if results["appliance_code_changed_during_run"]:
        print("\nwarning: appliance/*.py changed while the benchmark ran; figures mix versions")
    print(f"\nfigures written to {out}" + (f" and {figure}" if figure.exists() else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
