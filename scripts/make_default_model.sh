#!/usr/bin/env bash
# Regenerate the model shipped in actcap/assets/default_model from the real UTD-MHAD clips.
#
#   bash scripts/make_default_model.sh [DATA]        (DATA defaults to ../shared/data/utd-mhad-5)
#
# 0. the training data: every clip of DATA and two copies of it framed as a webcam frames a person, from the waist
# or the chest up (scripts/framed_copies.py → runs/<DATA's name>-framed; docs/model-card.md "Framing"),
# 1. leave-one-subject-out cross-validation of the shipped configuration (the model card's figures, with
# calibration and the open-set threshold fitted on held-out subjects inside each fold), 2. the open-set protocol
# (leave one action out × leave one subject out, synthetic negatives), 3. the final model on all six subjects,
# calibrated on held-out subjects, 4. only config.json + model.safetensors are copied into the package (the run
# folder keeps the checkpoint, curves and metrics), and the teaching examples are rebuilt from the same clips.
# Same seed, same figures within noise.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-../shared/data/utd-mhad-5}
ACTCAP=${ACTCAP:-.venv/bin/actcap}
PYTHON=${PYTHON:-.venv/bin/python}
FRAMED=runs/$(basename "$DATA")-framed
CONFIG=(--streams pose --sampling dense --head tcn --head-args width=32,novelty=shape --weight-decay 0.1 --lr 2e-3
        --lr-schedule cosine --epochs 60 --batch-size 16 --augment --augment-held 0.3 --open-set-clusters 2 --seed 0)
"$PYTHON" scripts/framed_copies.py "$DATA" "$FRAMED"
"$ACTCAP" cv --data "$FRAMED" --group-by '_s(\d+)_' --pairs swipe_left/swipe_right --compare-random "${CONFIG[@]}" --out runs/default-model-cv
"$ACTCAP" cv --data "$FRAMED" --group-by '_s(\d+)_' --open-set-protocol "${CONFIG[@]}" --out runs/default-model-open-set
"$ACTCAP" train --data "$FRAMED" --val-fraction 0 --group-by '_s(\d+)_' "${CONFIG[@]}" --no-progress --out runs/default-model
mkdir -p actcap/assets/default_model
cp runs/default-model/config.json runs/default-model/model.safetensors actcap/assets/default_model/
"$PYTHON" scripts/make_default_examples.py --data "$FRAMED"   # base=default teaching: the same 360 clips
cp runs/default-model-cv/reliability.png docs/model-card-reliability.png
echo "shipped: $(du -b actcap/assets/default_model/model.safetensors | cut -f1) bytes in actcap/assets/default_model"
