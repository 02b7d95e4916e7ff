"""WPS 2.0.0 requests for the tests: Execute documents, literal inputs, GetStatus/GetResult/Dismiss."""

from __future__ import annotations

HEAD = (
    '<wps:Execute xmlns:wps="http://www.opengis.net/wps/2.0" xmlns:ows="http://www.opengis.net/ows/2.0"'
    ' xmlns:xlink="http://www.w3.org/1999/xlink" service="WPS" version="2.0.0"'
)


def execute_xml(body: str, identifier: str = "echo", mode: str = "sync", response: str = "document") -> str:
    """A WPS 2.0 Execute document."""
    return f'{HEAD} mode="{mode}" response="{response}"><ows:Identifier>{identifier}</ows:Identifier>{body}</wps:Execute>'


def literal(name: str, value: str) -> str:
    """A wps:Input with a LiteralValue."""
    return f'<wps:Input id="{name}"><wps:Data><wps:LiteralValue>{value}</wps:LiteralValue></wps:Data></wps:Input>'


def job_request(operation: str, job_id: str) -> str:
    """A GetStatus, GetResult or Dismiss document (``operation``) for one job."""
    return (
        f'<wps:{operation} xmlns:wps="http://www.opengis.net/wps/2.0" service="WPS" version="2.0.0">'
        f"<wps:JobID>{job_id}</wps:JobID></wps:{operation}>"
    )
