#!/usr/bin/env bash
# Creates tools/reference/.venv with torch, numpy and pillow (from PyPI). Idempotent:
# does nothing if the venv already imports them. PYTHON=python3.12 ./setup.sh
# picks the interpreter used to create it.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
py="${PYTHON:-python3}"

if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import torch, numpy, PIL" 2>/dev/null; then
    echo "setup.sh: $venv already has torch $("$venv/bin/python" -c 'import torch, numpy, PIL; print(torch.__version__)'); nothing to do"
    exit 0
fi
[ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
"$venv/bin/python" -m pip install --upgrade pip
"$venv/bin/python" -m pip install torch numpy pillow
"$venv/bin/python" -c "import torch, numpy, PIL; print('setup.sh: torch', torch.__version__, 'numpy', numpy.__version__)"
echo "setup.sh: done; run $venv/bin/python $here/selftest.py"
