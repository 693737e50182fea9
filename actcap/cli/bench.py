"""`actcap bench`: per-clip CNN latency per engine, streaming, extraction, service load and memory, in one run."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from actcap.fileio import atomic_write_json


def add_parser(sub) -> None:
    p = sub.add_parser("bench", help="measure inference speed on this machine", description=__doc__)
    p.add_argument("--model", type=Path, help="run directory (default: the shipped model)")
    p.add_argument("--data", type=Path, help="folder of clips to time (default: $ACTCAP_CALIBRATION, the clips "
                                             "int8 is calibrated on; else synthetic clips)")
    p.add_argument("--quick", action="store_true", help="fewer trials and clips; skips the decoder comparison")
    p.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from actcap.bench.run import run_bench

    result = run_bench(args.model, args.data, quick=args.quick, progress=lambda m: print(m, file=sys.stderr))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(args.json, result)
    print(format_report(result))
    failed = sum(v.get("errors", 0) for key in ("serve", "serve_cnn")
                 for v in result.get(key, {}).values() if isinstance(v, dict))
    return 1 if failed else 0


def format_report(r: dict) -> str:
    m = r["machine"]
    h, w = r["frame_size"]
    s = r["input_size"]
    lines = [f"machine: {m['cpu']}, {m['nproc']} CPUs ({m['physical_cores']} physical), load {m['load_avg_1m']}; "
             f"torch {m['torch']}, onnxruntime {m['onnxruntime']}",
             f"model: {r['model']}; frame CNN: {r['backbone']}",
             f"clips: {r['clips']['count']} from {r['clips']['source']}; frames {w}x{h}", "",
             f"16 frames through the frame CNN (ms, medians): at {s}x{s}, at {w}x{h} (resize too), from the file",
             f"{'engine':<12}{'CNN':>8}{'x torch':>9}{'+resize':>9}{'x torch':>9}{'+decode':>9}"
             f"{'ImageNet top-1':>16}{'model top-1':>13}"]
    for k, ms in r["clip_ms"].items():
        lines.append(f"{k:<12}{ms:>8.1f}{r['ratio_to_torch'][k]:>9.3f}{r['clip_full_ms'][k]:>9.1f}"
                     f"{r['ratio_to_torch_full'][k]:>9.3f}{r['clip_decode_ms'][k]:>9.1f}"
                     f"{r['imagenet_top1_agreement'][k]:>16}{r.get('top1_agreement', {}).get(k, 'no CNN'):>13}")
    lines.append("")
    for prefix in ("stream", "model_stream"):
        if f"{prefix}_fps" not in r:
            continue
        threads = r[f"{prefix}_torch_threads"]
        head = f"{r[f'{prefix}_head_ms']} ms on {threads} torch thread{'s' if threads != 1 else ''}"
        lines.append(f"live stream ({'+'.join(r[f'{prefix}_streams'])}): {r[f'{prefix}_fps']} frames/s in batches "
                     f"of 3, {r[f'{prefix}_refresh_per_s']} predictions/s; one at a time "
                     f"{r[f'{prefix}_one_at_a_time_fps']} frames/s; features per frame "
                     f"{r[f'{prefix}_cnn_frames_per_frame']}; head {head}")
    lines += [f"extraction: {r['extract_fps']} frames/s vs CNN only {r['cnn_fps']} frames/s "
              f"({100 * r['extract_vs_cnn']:.0f}%)",
              "four clips: " + ", ".join(f"{k} {v} ms" for k, v in r["four_clips_ms"].items())]
    if "pose_track_ms" in r:
        ph, pw = r["pose_frame_size"]
        lines.append(f"body pose at {pw}x{ph}, {r['pose_threads']} thread(s): {r['pose_track_ms']} ms a tracked frame, "
                     f"{r['pose_detect_ms']} ms with detection; 16 frames through a pose model "
                     f"({r['pose_clip_model']}): {r['pose_clip_ms']} ms")
    for key, what in (("serve", "the model"), ("serve_cnn", "a model with the frame CNN")):
        serve = r.get(key)
        if serve is None:
            continue
        for c in ("1", "4", "16"):
            v = serve[c]
            lines.append(f"service ({what}) {c:>2} clients: {v['rps']} req/s, p50 {v['p50_ms']} ms, "
                         f"p99 {v['p99_ms']} ms, errors {v['errors']}/{v['requests']}")
        for k in (k for k in serve if k.startswith("stream_")):
            v = serve[k]
            lines.append(f"service ({what}) /stream, one client sending {v['sent_fps']} frames/s: "
                         f"{v['processed_fps']} frames/s processed, {v['updates_per_s']} updates/s, "
                         f"latency p50 {v['latency_p50_ms']} ms, {v['frames_dropped']} dropped")
        lines.append(f"service ({what}) peak memory (server process): {serve['server_peak_rss_mb']} MB")
    if "graph_levels_ms" in r:
        lines.append("ONNX Runtime levels (16 frames): " + ", ".join(
            f"{k} {v} ms (start {r['session_start_ms'][k]} ms)" for k, v in r["graph_levels_ms"].items()))
    for name, d in r.get("decode", {}).items():
        lines.append(f"decode {name} ({d['read']} of {d['frames']} frames): OpenCV sequential "
                     f"{d['opencv_sequential']} ms, OpenCV seek {d['opencv_seek']} ms, PyAV {d['pyav_packets']} ms")
    lines.append(f"peak memory (maxrss): {r['peak_rss_mb']} MB")
    return "\n".join(lines)
