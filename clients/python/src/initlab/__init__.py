"""InitLab's Python client: weight-initialization experiments on an InitLab server, into pandas and matplotlib.

    import initlab
    client = initlab.Client()                      # http://127.0.0.1:8080; token from INITLAB_TOKEN
    exp = client.submit(depth=50, width=256, batch=256, init="kaiming_normal", activation="relu")
    exp.wait().plot()                              # the dashboard's std-per-layer chart
    df = exp.to_pandas()                           # one row per layer × pass × quantity

Standard library only; ``pip install 'initlab[all]'`` adds pandas and matplotlib. Request and result types
(TypedDicts generated from the server's openapi.yaml) are in :mod:`initlab.types`.
"""

from .client import DEFAULT_URL, Client
from .errors import FieldError, InitLabError, WaitTimeout
from .events import Event, EventStream
from .experiment import Experiment
from .sweep import Sweep

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_URL",
    "Client",
    "Event",
    "EventStream",
    "Experiment",
    "FieldError",
    "InitLabError",
    "Sweep",
    "WaitTimeout",
]
