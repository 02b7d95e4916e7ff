"""HTTP only: routes per face (``/wps``, the OGC API resources, ``/outputs``, health, metrics).

A route picks its face's codec, lets it decode the request, calls the service and sends what the
same codec encoded; errors go to the one handler in :mod:`app.api.errors`.
"""
