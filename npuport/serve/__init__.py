"""Serve a package or artifacts directory over HTTP with micro-batching (the `serve` extra: starlette, uvicorn,
prometheus-client).

`npuport serve PATH` or `npuport.serve.server.serve(PATH, …)`; `npuport.serve.app.create_app(classifier, config)`
for an app around an already loaded Classifier. Importing this package imports no web framework.
"""

from npuport.serve.config import Limits, ServeConfig, Timeouts

__all__ = ["Limits", "ServeConfig", "Timeouts"]
