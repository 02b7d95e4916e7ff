"""The operations every face calls (``operations.WpsService``), and what they need: request checks,
input building, output delivery and job-status mapping. Faces never reach past this package into
the job store or the engine.
"""
