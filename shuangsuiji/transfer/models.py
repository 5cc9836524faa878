"""Imports: an uploaded file, its preview (validated rows and the per-row error report) and the
apply step. The heavy work runs as a :class:`shuangsuiji.core.models.Job`."""
