"""The OGC API - Processes - Part 1 (JSON) codec: the JSON face of the same processes and jobs.

Its routes live in ``app.api``; everything here is documents: the pydantic models of the standard's
schemas, decoding of execute requests, encoding of descriptions, status, results and problems.
"""
