"""Entry point of `celery -A workflows worker` and `celery -A workflows beat` (like a wsgi.py).

Celery looks for `workflows.celery.app`. The worker builds the same Flask app as the web
processes, from the same environment (Settings.from_env), and its Celery app from that, so every
task runs in that app's context. Nothing in the code base imports this module.
"""
from webapp import create_app

app = create_app().extensions["celery"]
