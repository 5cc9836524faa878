"""Signals other apps listen to, so the draws app need not import them."""

from django.dispatch import Signal

# Sent inside the transaction that appends a held (after-inspection) release to the public log;
# kwargs: ``draw``. The staffing app appends its runs' held documents after it.
release_published = Signal()
