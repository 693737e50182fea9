"""actcap: human action recognition with natural-language captions.

Pipeline, one stage per module:  data/ → models/ (backbones, heads) → streams/ (per-frame features)
→ features.py (cache) → train.py / evaluate.py → predict.py → caption/ → serve/.
"""

__version__ = "0.1.0"
