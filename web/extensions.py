"""The Flask extensions of the app, made once here and given to the app by ``create_app``
(server.py); blueprints import them from here, never from server.py."""

from flask_babel import Babel
from flask_htmx import HTMX
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()
babel = Babel()
htmx = HTMX()
