"""Teach actcap new actions from a few examples: the training-job queue and the job itself. Taught models are kept
by actcap/models/store.py (ACTCAP_HOME or the user data folder; which one is active), below inference.

    examples.py   a model's training examples as per-clip stream features (what `base=default` extends)
    trainer.py    one teach job: extract features, check by held-out examples, train, save atomically
    jobs.py       one job at a time in a background thread; the rest queue

The HTTP routes are in actcap/serve/routes/teach.py, the CLI in actcap/cli/teach.py and actcap/cli/models.py.
"""
