"""Write the shipped model's training data with webcam framing: every clip linked, and cropped copies of it.

    python scripts/framed_copies.py ../shared/data/utd-mhad-5 runs/utd-mhad-5-framed

actcap/data/framing.py says what a copy is; scripts/make_default_model.sh trains on the result.
"""

import sys
from pathlib import Path

from actcap.data.framing import framed_copies

if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    made = framed_copies(Path(sys.argv[1]), Path(sys.argv[2]))
    print(f"{len(made)} framed copies written in {sys.argv[2]}")
