"""`actcap bench`: per-clip CNN latency per engine, streaming, extraction, service load and memory, in one run."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser("bench", help="measure inference speed on this machine", description=__doc__)
    p.add_argument("--model", type=Path, help="run directory (default: the shipped model)")
    p.add_argument("--data", type=Path, help="folder of clips to time (default: ../shared/data/utd-mhad-5 "
                                             "when present, else synthetic clips)")
    p.add_argument("--quick", action="store_true", help="fewer trials and clips; skips the decoder comparison")
    p.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from actcap.bench import run_bench

    result = run_bench(args.model, args.data, quick=args.quick, progress=lambda m: print(m, file=sys.stderr))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    print(format_report(result))
    serve = result.get("serve", {})
    failed = sum(v.get("errors", 0) for v in serve.values() if isinstance(v, dict))
    return 1 if failed else 0


def format_report(r: dict) -> str:
    m = r["machine"]
    lines = [f"machine: {m['cpu']}, {m['nproc']} CPUs ({m['physical_cores']} physical), load {m['load_avg_1m']}; "
             f"torch {m['torch']}, onnxruntime {m['onnxruntime']}",
             f"clips: {r['clips']['count']} from {r['clips']['source']}; frames {r['frame_size'][1]}x{r['frame_size'][0]}",
             "", f"{'engine':<12}{'CNN ms/clip':>12}{'+decode':>10}{'x torch':>9}{'top-1':>8}{'max|dp|':>9}"]
    for k, ms in r["clip_ms"].items():
        lines.append(f"{k:<12}{ms:>12.1f}{r['clip_decode_ms'][k]:>10.1f}{r['ratio_to_torch'][k]:>9.3f}"
                     f"{r['top1_agreement'][k]:>8}{r['probs_max_abs_diff'][k]:>9.4f}")
    lines += ["", f"live stream: {r['stream_fps']} frames/s through {'+'.join(r['stream_streams'])} "
                  f"(CNN alone {r['stream_cnn_only_fps']}/s), {r['refresh_per_s']} predictions/s "
                  f"(head {r['stream_predict_ms']} ms; " + ", ".join(f"{v} ms with {k.replace('_', ' ')}"
                                                                   for k, v in r["stream_head_ms"].items())
              + f"); CNN runs per frame {r['stream_cnn_frames_per_frame']}",
              f"extraction: {r['extract_fps']} frames/s vs CNN only {r['cnn_fps']} frames/s "
              f"({100 * r['extract_vs_cnn']:.0f}%)",
              "four clips: " + ", ".join(f"{k} {v} ms" for k, v in r["four_clips_ms"].items())]
    serve = r.get("serve", {})
    if "skipped" in serve:
        lines.append(f"service: skipped — {serve['skipped']}")
    else:
        for c in ("1", "4", "16"):
            s = serve[c]
            lines.append(f"service {c:>2} clients: {s['rps']} req/s, p50 {s['p50_ms']} ms, p99 {s['p99_ms']} ms, "
                         f"errors {s['errors']}/{s['requests']}")
    if "graph_levels_ms" in r:
        lines.append("ONNX Runtime levels (16 frames): " + ", ".join(
            f"{k} {v} ms (start {r['session_start_ms'][k]} ms)" for k, v in r["graph_levels_ms"].items()))
    for name, d in r.get("decode", {}).items():
        lines.append(f"decode {name} ({d['read']} of {d['frames']} frames): OpenCV sequential "
                     f"{d['opencv_sequential']} ms, OpenCV seek {d['opencv_seek']} ms, PyAV {d['pyav_packets']} ms")
    lines.append(f"peak memory (maxrss): {r['peak_rss_mb']} MB")
    return "\n".join(lines)
