"""Background work: the Celery app and its tasks (timers, service tasks, notifications, sweeps).

`celery -A workflows worker|beat` finds the app in `workflows/celery.py`, the entry point that
builds it from the environment; nothing else imports that module, so importing this package (the
web app and the tests do) creates no app, engine or connection.
"""
