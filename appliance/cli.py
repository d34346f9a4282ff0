"""The ``hushbox`` command: train, evaluate, scan, listen, config.

Any problem with input is one line on standard error (``hushbox: ...``) and exit
status 2; never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from appliance.errors import EXIT_BAD_INPUT, HushboxError

EXIT_INTERRUPTED = 130


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except HushboxError as exc:
        print(f"hushbox: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:  # a path that cannot be read or written
        print(f"hushbox: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "),
              file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hushbox", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    p = sub.add_parser("scan", help="find cries in recordings, as the live detector would")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument("--plot", type=Path, metavar="PNG",
                   help="write a picture of what the detector saw (one file: this name; "
                        "several: NAME-<stem>.png)")
    p.add_argument("--config", type=Path, help="hushbox.conf (threshold, lullaby, mute tail)")
    p.set_defaults(run=_scan)

    p = sub.add_parser("train", help="train a model on labelled recordings")
    p.add_argument("--data", type=Path, required=True,
                   help="folder with metadata.csv (path,label[,fold,source]) or cry/ + other/")
    p.add_argument("--out", type=Path, required=True, help="folder for NAME.npz + NAME.json")
    p.add_argument("--name", default="hushbox-cry")
    p.add_argument("--classifier", choices=("mlp", "logistic"), default="mlp")
    p.add_argument("--seed", type=int, default=None)
    p.set_defaults(run=_train)

    p = sub.add_parser("evaluate", help="nested grouped cross-validation report")
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--report", type=Path, required=True, help="folder for the report")
    p.add_argument("--classifier", choices=("mlp", "logistic"), default="mlp")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--config", type=Path, help="hushbox.conf (lullaby and mute tail)")
    p.set_defaults(run=_evaluate)

    p = sub.add_parser("listen", help="listen through ALSA and play a lullaby on crying")
    p.add_argument("--config", type=Path)
    p.add_argument("--capture-device", metavar="NAME")
    p.add_argument("--playback-device", metavar="NAME")
    p.add_argument("--lullaby", type=Path, metavar="WAV")
    p.add_argument("--stop-after-seconds", type=float, metavar="S",
                   help="stop after S seconds of captured audio")
    p.add_argument("--json-log", action="store_true", default=None)
    p.set_defaults(run=_listen)

    p = sub.add_parser("config", help="print a commented hushbox.conf with every default")
    p.set_defaults(run=_config)
    return parser


def _settings(args: argparse.Namespace, **flags: object):
    from appliance.settings import build_settings

    return build_settings(config_path=getattr(args, "config", None), environ=os.environ,
                          flags=flags)


def _holdoff_seconds(settings) -> float:
    from appliance.lullaby import lullaby_seconds

    return lullaby_seconds(settings.lullaby_path) + settings.mute_tail_seconds


def _scan(args: argparse.Namespace) -> int:
    from appliance.audio_io import read_audio
    from appliance.model import DEFAULT_MODEL_PATH, load_model
    from appliance.scan import scan_samples

    settings = _settings(args)
    model = load_model(Path(settings.model_path) if settings.model_path else DEFAULT_MODEL_PATH)
    threshold = settings.threshold or model.threshold
    holdoff = _holdoff_seconds(settings)
    for path in args.files:
        samples = read_audio(path)
        result = scan_samples(samples, model=model, holdoff_seconds=holdoff,
                              windows_to_confirm=settings.windows_to_confirm,
                              threshold=threshold)
        for t in result.confirmations_seconds:
            if args.json:
                print(json.dumps({"file": str(path), "event": "cry_confirmed", "t": round(t, 3)}))
            else:
                print(f"{path}: cry confirmed at {_clock(t)} (the lullaby would start here)")
        if args.json:
            print(json.dumps({"file": str(path), "event": "end",
                              "duration": round(result.duration_seconds, 3)}))
        else:
            n = len(result.confirmations_seconds)
            print(f"{path}: {result.duration_seconds:.1f} s scanned, "
                  f"{n} cr{'y' if n == 1 else 'ies'} confirmed")
        if args.plot:
            from appliance.plot import plot_scan

            out = args.plot if len(args.files) == 1 else \
                args.plot.with_name(f"{args.plot.stem}-{path.stem}.png")
            plot_scan(samples, result, config=model.feature_config, threshold=threshold,
                      title=str(path), out_path=out)
    return 0


def _clock(seconds: float) -> str:
    minutes, rest = divmod(seconds, 60.0)
    return f"{int(minutes)}:{rest:04.1f}"


def _train(args: argparse.Namespace) -> int:
    from appliance.dataset import load_dataset
    from appliance.train import DEFAULT_SEED, train

    clips = load_dataset(args.data)
    result = train(clips, out_dir=args.out, name=args.name, kind=args.classifier,
                   seed=DEFAULT_SEED if args.seed is None else args.seed)
    for reason in result.skipped:
        print(f"hushbox: skipped: {reason}", file=sys.stderr)
    print(f"model written to {result.model_path} (threshold {result.threshold:.3f}, "
          f"out-of-fold clip ROC-AUC {result.oof_clip_auc:.4f}; "
          f"{len(result.skipped)} unreadable file(s) skipped)")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from appliance.dataset import load_dataset
    from appliance.evaluate import evaluate
    from appliance.train import DEFAULT_SEED

    settings = _settings(args)
    report = evaluate(load_dataset(args.data), report_dir=args.report, kind=args.classifier,
                      seed=DEFAULT_SEED if args.seed is None else args.seed,
                      holdoff_seconds=_holdoff_seconds(settings))
    clip, events = report["clip"]["all"], report["events"]["all"]
    print(f"clip ROC-AUC {clip['roc_auc']:.4f}, recall at 1% FPR "
          f"{clip['recall_at_1pct_fpr']:.3f}; cries confirmed "
          f"{events['cry_recordings_confirmed']:.3f}, false confirmations/hour "
          f"{events['false_confirmations_per_hour']:.2f}; report in {args.report}")
    return 0


def _listen(args: argparse.Namespace) -> int:
    from appliance.service import run_service

    settings = _settings(args, capture_device=args.capture_device,
                         playback_device=args.playback_device,
                         lullaby_path=str(args.lullaby) if args.lullaby else None,
                         stop_after_seconds=args.stop_after_seconds, json_log=args.json_log)
    return run_service(settings)


def _config(args: argparse.Namespace) -> int:
    from appliance.settings import default_config_text

    print(default_config_text(), end="")
    return 0
