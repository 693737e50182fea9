"""actcap: human action recognition with natural-language captions.

The package in pipeline order, one stage per subpackage; docs/architecture.md names every module and draws the
imports (tests/test_front_door.py keeps this list, the README's picture and that page current):

    data/       a clip (video file, frame folder, images, keypoint file) → frames by index; sampling, pooling
    pose/       BlazePose keypoints and the shared skeleton the pose stream reads
    features/   frames → per-frame features: streams (appearance, flow, pose), the CNN engine, the cache
    models/     backbones, temporal heads, the model files, where models live
    honesty/    a head's output → a verdict: calibrated confidence, unknown, idle
    caption/    labels → sentences, hedged by confidence; timelines
    inference/  the one answer path (Pipeline, Predictor, answer) for predict, serve, live video and the bundle
    training/   the one training loop, evaluation, cross-validation, calibration on held-out people
    teach/      a user's own actions from a few videos: the job and its checks
    serve/      the HTTP service and the page
    bench/      `actcap bench`: speed on this machine
    cli/        one module per subcommand; the only code that prints
    assets/     the shipped model and the pose models (data, no code)
"""

__version__ = "0.1.0"
