"""Teach actcap new actions from a few examples: the model store, the training-job queue and the job itself.

    store.py      taught models on disk (ACTCAP_HOME or the user data folder), which one is active
    examples.py   a model's training examples as per-clip stream features (what `base=default` extends)
    trainer.py    one teach job: extract features, check by held-out examples, train, save atomically
    jobs.py       one job at a time in a background thread; the rest queue

The HTTP routes are in actcap/serve/routes/teach.py, the CLI in actcap/cli/teach.py and actcap/cli/models.py.
"""
